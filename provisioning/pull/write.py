"""Writing the pulled modules and the files beside them: nothing is overwritten without
``force``, and the modules are laid out by ruff where it is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from provisioning.errors import ProvisioningError
from provisioning.pull.modules import Module

PACKAGES = ("dashboards", "alerting")


class PullError(ProvisioningError):
    """Nothing was written."""


def write(root: Path, modules: list[Module], force: bool) -> list[str]:
    """Every module and its files under ``root``; returns their paths."""
    texts: dict[str, str] = {}
    for module in modules:
        texts |= module.files
        texts[module.path] = module.render()
    existing = sorted(path for path in texts if (root / path).exists())
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise PullError(f"{existing[0]} exists{more}: pull overwrites nothing without --force")
    for package in PACKAGES:
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").touch()
    written: list[Path] = []
    try:
        for path, text in texts.items():
            (root / path).write_text(text)
            written.append(root / path)
    except OSError as exc:  # nothing half-written stays
        for done in written:
            done.unlink(missing_ok=True)
        raise PullError(f"cannot write {exc.filename}: {exc.strerror}") from None
    _format([root / path for path in texts if path.endswith(".py")])
    return sorted(texts)


def _format(paths: list[Path]) -> None:
    """Lay the modules out with ruff, when it is installed (the code is valid either way),
    under the ruff settings of the project holding them."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if Path(ruff).exists():
        subprocess.run([ruff, "format", "--quiet", *map(str, paths)], check=False)
