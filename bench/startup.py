"""How long a student waits after a kernel restart: three start-up targets, fresh interpreters.

    python bench/startup.py [--runs 7]

Each row starts a new Python process (as a kernel restart or a terminal command does) and reports
the median wall time of `--runs` runs against its target:

- `import lab_server`                                  at most 0.5 s
- `lab-server --help`                                  at most 0.7 s
- `from lab_server import start; start(port=0, sandbox=True)`, until it answers    at most 1.5 s

The first run of each row warms the operating system's file cache and is not counted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = shutil.which("lab-server", path=str(Path(sys.executable).parent)) or "lab-server"

START = "from lab_server import start\nlab = start(port=0, sandbox=True, show=False)\nlab.stop()\n"

ROWS = [
    ("import lab_server", [sys.executable, "-c", "import lab_server"], 0.5),
    ("lab-server --help", [CLI, "--help"], 0.7),
    ("start(port=0, sandbox=True)", [sys.executable, "-c", START], 1.5),
]


def timed(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "LAB_ENV_FILE": "none", "LAB_DATA_DIR": data, "LAB_SANDBOX": "1"}
        print(f"{'what':<30} {'median':>8} {'best':>8} {'target':>8}  ok")
        for name, command, target in ROWS:
            timed(command, env)  # warm the file cache
            times = [timed(command, env) for _ in range(args.runs)]
            median = statistics.median(times)
            mark = "yes" if median <= target else "NO"
            print(f"{name:<30} {median:>7.2f}s {min(times):>7.2f}s {target:>7.1f}s  {mark}")


if __name__ == "__main__":
    main()
