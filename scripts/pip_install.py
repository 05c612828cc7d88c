"""``pip install`` with a few lines of progress instead of pip's hundreds, for the Makefile:
the first install on a fresh machine takes a couple of minutes and must not look stuck.

    python scripts/pip_install.py LOG [pip install arguments...]

Runs ``pip install`` with this interpreter and keeps pip's whole output in LOG. Shows what
is installed, then pip's progress: on a terminal one line that follows pip, elsewhere (CI
logs) a line every PERIOD_SECONDS at most. On failure, pip's error and pip's exit status.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

PERIOD_SECONDS = 10.0
FIRST_INSTALL = "about 2 minutes the first time"
ERROR_LINES = 40  # of pip's output, shown when it fails
# pip's lines that name one package: "Collecting scipy==1.17.1 (from ...)",
# "Processing /wheels/numpy-2.4.6-cp311-...whl", "Requirement already satisfied: click==8.5.1".
PACKAGE = re.compile(
    r"^(?:Collecting|Requirement already satisfied:) ([A-Za-z0-9._-]+)"
    r"|^Processing .*?([A-Za-z0-9_.]+)-\d[^/]*$"
)
INSTALLING = re.compile(r"^Installing collected packages: (.*)$")


class Progress:
    """pip's progress as one status: a rewritten line on a terminal, else occasional lines."""

    def __init__(self, terminal: bool) -> None:
        self.terminal = terminal
        self.shown_at = float("-inf")
        self.pending = ""

    def show(self, status: str, now: bool = False) -> None:
        if self.terminal:
            print(f"\r\033[K    {status}", end="", flush=True)
        elif now or time.monotonic() - self.shown_at >= PERIOD_SECONDS:
            print(f"    {status}", flush=True)
            self.shown_at, self.pending = time.monotonic(), ""
        else:
            self.pending = status

    def end(self) -> None:
        if self.terminal:
            print(flush=True)
        elif self.pending:
            print(f"    {self.pending}", flush=True)


def main() -> int:
    log, arguments = Path(sys.argv[1]), sys.argv[2:]
    print(f"==> pip install {' '.join(arguments)}: {FIRST_INSTALL}", flush=True)
    progress = Progress(sys.stdout.isatty())
    started, packages, tail = time.monotonic(), 0, []
    with log.open("w") as out, subprocess.Popen(
        [sys.executable, "-m", "pip", "install", *arguments],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
    ) as pip:  # fmt: skip
        assert pip.stdout is not None
        for line in pip.stdout:
            out.write(line)
            tail = [*tail[-ERROR_LINES + 1 :], line.rstrip()]
            if match := PACKAGE.match(line):
                packages += 1
                progress.show(f"packages resolved: {packages} ({match[1] or match[2]})")
            elif match := INSTALLING.match(line):
                count = len(match[1].split(", "))
                progress.show(f"installing {count} packages", now=True)
    progress.end()
    if pip.returncode:
        errors = [i for i, line in enumerate(tail) if line.startswith("ERROR")]
        print("\n".join(tail[errors[0] if errors else 0 :]), file=sys.stderr)
        print(
            f"error: pip install failed (exit {pip.returncode}); its whole output: {log}",
            file=sys.stderr,
        )
        return pip.returncode
    elapsed = time.monotonic() - started
    print(f"    done in {elapsed // 60:.0f}m{elapsed % 60:02.0f}s (pip's output: {log})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
