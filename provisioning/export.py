"""(being rewritten for the general model)"""

from pathlib import Path
from typing import Any


def export(definitions: Any, stack: Any, directory: Path) -> list[Path]:
    raise NotImplementedError
