"""The definition modules ``pull`` writes: each a docstring, its imports, the objects it
names once (a folder, mute timings), ``define(values)`` returning its objects, and the files
beside it (a dashboard's JSON, a template's text) that it reads."""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

from provisioning.pull.source import Code, Source

KEPT_UIDS = (
    "Grafana's uids are kept, so links, bookmarks and rules that name them keep working. "
    "This module is now their definition: edit it as any other."
)
LOAD_JSON = '''

def _json(name: str) -> dict[str, Any]:
    """A dashboard's JSON model, kept in a file beside this module."""
    return json.loads((HERE / name).read_text())
'''


@dataclass
class Module:
    """One generated module and the files it reads, by their paths under the definitions
    directory (e.g. ``dashboards/pulled_drift.py``)."""

    path: str
    about: str
    named: list[tuple[str, Any]] = field(default_factory=list)  # (NAME, object)
    items: list[Any] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # path -> text
    json_files: bool = False

    def beside(self, stem: str, suffix: str, text: str) -> Code:
        """A file next to the module (a unique name from ``stem``), and the code naming it."""
        folder = self.path.rsplit("/", 1)[0]
        base = f"{self.path.rsplit('/', 1)[1].removesuffix('.py')}_{slug(stem)}"
        name, count = f"{base}{suffix}", 1
        while f"{folder}/{name}" in self.files:
            count += 1
            name = f"{base}_{count}{suffix}"
        self.files[f"{folder}/{name}"] = text
        return Code(f'HERE / "{name}"')

    def dashboard(self, stem: str, board: dict[str, Any]) -> Code:
        self.json_files = True
        where = self.beside(stem, ".json", json.dumps(board, indent=2, ensure_ascii=False) + "\n")
        return Code(f"_json({where.text.removeprefix('HERE / ')})")

    def render(self) -> str:
        source = Source(named={id(obj): name for name, obj in self.named})
        constants = [f"{name} = {Source(used=source.used)(obj)}" for name, obj in self.named]
        items = [source(item) for item in self.items]
        model = sorted(source.used | {"Definition", "Values"}, key=_import_order)
        standard = [
            *(["import json"] if self.json_files else []),
            *(["from pathlib import Path"] if self.files else []),
            *(["from typing import Any"] if self.json_files else []),
        ]
        imports = ["from __future__ import annotations", "", *standard, *([""] if standard else [])]
        imports.append(f"from provisioning.model import {', '.join(model)}")
        about = textwrap.fill(f"{self.about} {KEPT_UIDS}", 96)
        head = [f'"""{about}\n"""', "", *imports, ""]
        if self.files:
            head.append("HERE = Path(__file__).resolve().parent")
        body = [*head, *constants]
        if self.json_files:
            body.append(LOAD_JSON)
        listed = ",\n        ".join(items)
        body += ["", "", "def define(values: Values) -> list[Definition]:",
                 f"    return [\n        {listed},\n    ]", ""]  # fmt: skip
        return "\n".join(body)


def _import_order(name: str) -> tuple[int, str]:
    """isort's order by type, as ruff checks it: constants, then classes."""
    return (0 if name.isupper() else 1, name)


def slug(text: str) -> str:
    """A module-name-safe form of a title: lower-case letters, digits and "_"."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "unnamed"
