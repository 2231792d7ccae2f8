"""`logclassify serve`: the HTTP service and the page (the optional `serve` extra: fastapi, uvicorn,
prometheus-client). Nothing here is imported by a scan; `cli.py` names the command lazily."""
