"""`python -m logclassify` is the `logclassify` command."""

from logclassify.cli import main

main(prog_name="logclassify")
