"""Fleet scale: classify many archived logs into one table and a summary (`logclassify fleet`, docs/fleet.md).

`rows` turns a report into one flat row, `summary` counts rows per cause, `output` writes Parquet or JSONL,
`sources` lists and opens local files and URIs. `ray_batch` runs the same on a Ray Dataset; it is the only module
here that imports Ray, and only when it is used: nothing in the core imports it (tests/test_fleet.py).
"""
