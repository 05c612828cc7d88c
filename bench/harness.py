"""What the benchmark processes measure alike: the machine a run was on and resident memory.

Standard library only: the workers import it under .venv-evidently as well. Scripts import it
as ``harness`` (a script sees its own folder), workers as ``bench.harness``.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
from pathlib import Path
from typing import Any


def machine(**extra: Any) -> dict[str, Any]:
    """The CPU model, the number of cores and Python's version, then a study's own entries
    (load average, the versions of the servers it ran)."""
    with open("/proc/cpuinfo") as f:
        models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    return {
        "cpu": models[0] if models else platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    } | extra


def version(binary: str | Path) -> str:
    """The first line of ``binary --version`` (Prometheus's tools print it on stderr)."""
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
    return (done.stdout or done.stderr).splitlines()[0]


def resident_mib(field: str = "VmRSS", pid: int | str = "self") -> float:
    """A process's resident memory in MiB from /proc/PID/status: VmRSS now, VmHWM its peak
    (which, unlike ru_maxrss, can be reset and read for another running process)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no {field} in /proc/{pid}/status: has the process ended?")


def lifetime_peak_mib() -> float:
    """This process's peak resident memory since it started (ru_maxrss, in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
