"""Finding the definitions: every module in the definition packages (``dashboards/`` and
``alerting/``, in the definitions directory: the one of provision.py unless --definitions
names another) whose name does not start with "_" defines
``define(values) -> list`` of model objects; it may also define ``check(definitions) ->
list[str]``, problems that ``validate`` reports. Modules named with a leading "_" are
helpers that definitions import. Modules are read in name order, each package in turn."""

from __future__ import annotations

import functools
import importlib
import pkgutil
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from provisioning.errors import DefinitionError, ProvisioningError
from provisioning.model import Definition, Values
from provisioning.model.dashboards import Dashboard, DataSource, Folder
from provisioning.model.notifications import ContactPoint, MuteTiming, Route, Template
from provisioning.model.rules import RuleGroup

PACKAGES = ("dashboards", "alerting")
DEFAULT_ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
KINDS = (DataSource, Folder, Dashboard, Template, MuteTiming, ContactPoint, Route, RuleGroup)


@dataclass(frozen=True)
class Discovered:
    definitions: list[Definition]
    checks: list[Callable[[Sequence[Definition]], list[str]]]
    modules: list[str]


def modules(root: Path = DEFAULT_ROOT) -> list[ModuleType]:
    """The definition modules under ``root``, imported from there (first on the path, so
    that they import each other as ``dashboards.x`` and ``alerting.y``)."""
    missing = [p for p in PACKAGES if not (root / p).is_dir()]
    if missing:
        raise DefinitionError(f"{root}: no {' or '.join(missing)} folder of definitions")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    found = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        if Path(next(iter(package.__path__), "")).resolve() != (root / package_name).resolve():
            raise DefinitionError(
                f"{root / package_name}: not a package (it needs an __init__.py), or another "
                f"package named {package_name} comes first on the path"
            )
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
            if not info.name.startswith("_"):
                name = f"{package_name}.{info.name}"
                found.append(users_code(root, importlib.import_module, name))
    return found


def users_code(root: Path, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)``, a user's definition code: a mistake in it becomes one line naming
    the file and line it is on (the deepest under ``root``), not a traceback."""
    try:
        return function(*args)
    except DefinitionError as exc:  # a model object refused its arguments: say where
        raise DefinitionError(f"{_where(root, exc)}{exc}") from None
    except ProvisioningError:
        raise
    except Exception as exc:  # anything a user's module can raise
        raise DefinitionError(f"{_where(root, exc)}{type(exc).__name__}: {exc}") from None


def _where(root: Path, exc: Exception) -> str:
    """The place ``exc`` was raised from in a file under ``root`` ("file:line: "), else ""."""
    frames = [
        (frame.filename, frame.lineno)
        for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename).is_relative_to(root.resolve())
    ]
    if isinstance(exc, SyntaxError) and exc.filename:
        frames.append((exc.filename, exc.lineno))
    file, line = frames[-1] if frames else ("", None)
    return f"{Path(file).relative_to(root.resolve())}:{line}: " if frames else ""


def discover(values: dict[str, Any], root: Path = DEFAULT_ROOT) -> Discovered:
    """Every definition, in the order the modules give them."""
    definitions: list[Definition] = []
    checks = []
    names = []
    for module in modules(root):
        define = getattr(module, "define", None)
        if not callable(define):
            raise DefinitionError(
                f"{module.__name__}: a definition module needs define(values); name a helper "
                "module with a leading '_'"
            )
        made = users_code(root, define, Values(values))
        if not isinstance(made, list | tuple):
            raise DefinitionError(f"{module.__name__}.define returned {type(made).__name__}, "
                                  "not a list")  # fmt: skip
        for item in made:
            if not isinstance(item, KINDS):
                raise DefinitionError(
                    f"{module.__name__}.define: {item!r} is none of "
                    + ", ".join(kind.__name__ for kind in KINDS)
                )
            definitions.append(item)
        if callable(getattr(module, "check", None)):
            checks.append(functools.partial(users_code, root, module.check))
        names.append(module.__name__)
    if not definitions:
        raise DefinitionError(f"no definitions found in {', '.join(PACKAGES)}")
    return Discovered(definitions, checks, names)
