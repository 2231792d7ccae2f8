"""The texts a mining run reads: log files, issue bodies, folders of them, and `.jsonl` backlogs of texts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from logclassify.engine.classifier import InputFormat

LOG_SUFFIXES = (".log", ".txt", ".md", ".markdown", ".out", ".err", ".gz")
TEXT_KEYS = ("body", "text", "log", "content")
NAME_KEYS = ("source", "url", "html_url", "id", "number", "file")


@dataclass(frozen=True)
class InputText:
    """One text to classify: where it came from, and either its content or the file holding it."""

    source: str
    text: str | None = None
    path: Path | None = None
    input_format: InputFormat = "auto"


def _jsonl(path: Path, problems: list[str]) -> Iterator[InputText]:
    without_text = 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{path}:{number}: not JSON ({exc.msg}); skipped")
                continue
            if isinstance(obj, str):
                obj = {"text": obj}
            text = next((obj[k] for k in TEXT_KEYS if isinstance(obj, dict) and isinstance(obj.get(k), str)), None)
            if text is None:
                without_text += 1
                continue
            name = next((str(obj[k]) for k in NAME_KEYS if obj.get(k) not in (None, "")), f"{path}:{number}")
            yield InputText(source=name, text=text, input_format="auto")
    if without_text:
        problems.append(f"{path}: skipped {without_text} line(s) with no text field (one of {', '.join(TEXT_KEYS)})")


def iter_inputs(paths: Iterable[str | Path], problems: list[str]) -> Iterator[InputText]:
    """Every text under `paths`, folders walked in sorted order; what cannot be read is named in `problems`.

    A `.jsonl` backlog is read only when named: inside a folder it is usually labels or other metadata.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            skipped = [p for p in files if p.suffix not in LOG_SUFFIXES]
            if skipped:
                problems.append(f"{path}: skipped {len(skipped)} file(s) that are not logs, e.g. {skipped[0].name}")
            for p in files:
                if p.suffix in LOG_SUFFIXES:
                    yield InputText(source=str(p), path=p)
        elif path.suffix == ".jsonl" and path.is_file():
            yield from _jsonl(path, problems)
        elif path.is_file():
            yield InputText(source=str(path), path=path)
        else:
            problems.append(f"{path}: no such file or folder")
