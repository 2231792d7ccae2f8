"""Custom rule folders as data, so that they travel to Ray workers on machines that do not share the driver's disk:
the driver reads the folders' YAML files (rules and vocabulary, not fixtures), each worker writes them into a
temporary folder of its own and loads them from there, once."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from logclassify.engine.classifier import Classifier, load_rules

MAX_BYTES = 32 << 20  # the rule files of one run, together


@dataclass(frozen=True)
class RulePack:
    """`folders`: per folder given, its YAML files as (path relative to the folder, bytes)."""

    folders: tuple[tuple[tuple[str, bytes], ...], ...] = ()
    builtin: bool = True

    @classmethod
    def of(cls, dirs: tuple[str, ...] | list[str], builtin: bool = True) -> RulePack:
        """Read the folders (or single rule files) now; ValueError names one that is missing or too large."""
        folders: list[tuple[tuple[str, bytes], ...]] = []
        total = 0
        for d in dirs:
            root = Path(d)
            if root.is_file():
                files = [(root.name, root.read_bytes())]
            elif root.is_dir():
                files = [(p.relative_to(root).as_posix(), p.read_bytes()) for p in sorted(root.rglob("*.y*ml"))
                         if p.suffix in (".yaml", ".yml") and "fixtures" not in p.relative_to(root).parts]
            else:
                raise ValueError(f"{d}: no such rules folder")
            total += sum(len(b) for _, b in files)
            if total > MAX_BYTES:
                raise ValueError(f"{d}: the rule folders hold over {MAX_BYTES >> 20} MB of YAML; is this a rules folder?")
            folders.append(tuple(files))
        return cls(tuple(folders), builtin)

    def classifier(self) -> Classifier:
        """The classifier of these rules, built from a temporary copy of the folders (removed once loaded). That copy
        is loaded without the rule cache: its paths are new in every worker, so caching it would only fill the
        cache folder (a worker pays the full load, about a second, once)."""
        if not self.folders:
            return Classifier(load_rules(builtin=self.builtin))
        with tempfile.TemporaryDirectory(prefix="logclassify-rules-") as tmp:
            dirs = []
            for i, files in enumerate(self.folders):
                folder = Path(tmp) / str(i)
                for rel, data in files:
                    target = folder / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                folder.mkdir(parents=True, exist_ok=True)
                dirs.append(folder)
            saved = os.environ.get("LOGCLASSIFY_NO_CACHE")
            os.environ["LOGCLASSIFY_NO_CACHE"] = "1"
            try:
                return Classifier(load_rules(*dirs, builtin=self.builtin))
            finally:
                if saved is None:
                    del os.environ["LOGCLASSIFY_NO_CACHE"]
                else:
                    os.environ["LOGCLASSIFY_NO_CACHE"] = saved
