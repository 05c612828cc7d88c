"""Write a set of generated files into a directory: all or nothing that was not there before,
each file replaced atomically, secret files created private from the start."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from provisioning.errors import ProvisioningError

PUBLIC_MODE = 0o666  # less the umask, as for any new file
PRIVATE_MODE = 0o600


class ExportError(ProvisioningError, ValueError):
    """The files cannot be written, or the definitions cannot take the exported form; the
    message says where and why."""


def write_files(
    directory: Path, files: dict[str, str], private: frozenset[str] = frozenset()
) -> list[Path]:
    """Write ``files`` (path relative to ``directory`` -> text); those named in ``private``
    are readable by their owner only. On failure, what this call created is removed."""
    _check_destination(directory)
    created: list[Path] = []  # directories and files that did not exist before, in order
    written = []
    for name, text in files.items():
        path = directory / name
        try:
            _make_directories(path.parent, created)
            existed = path.exists()
            _replace(path, text, PRIVATE_MODE if name in private else PUBLIC_MODE)
        except OSError as exc:
            _remove(created)
            raise ExportError(f"cannot write {path}: {exc.strerror}") from None
        if not existed:
            created.append(path)
        written.append(path)
    return written


def _check_destination(directory: Path) -> None:
    """Refuse before creating anything when ``directory`` or its nearest existing ancestor
    is not a directory (an existing file in the way)."""
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ExportError(f"cannot write into {directory}: {existing} is not a directory")


def _make_directories(directory: Path, created: list[Path]) -> None:
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir()
        created.append(path)


def _replace(path: Path, text: str, mode: int) -> None:
    """Write a new file beside ``path``, then rename it over ``path``: readers see the old
    file or the new one, never part of it, and the new one has ``mode`` from its creation."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _remove(created: list[Path]) -> None:
    for path in reversed(created):
        with contextlib.suppress(OSError):
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink()
