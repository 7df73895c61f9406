"""Build the student notebooks (and the autograders) from the instructor's sources.

One source per notebook, `instructor/source/NN_name.ipynb`, in Otter Assign's format: the
solutions and the checks live there only. `otter assign` writes the student notebook (each
solution replaced by its placeholder, each check by `grader.check("ejercicioN")`, the checks
kept in the notebook's metadata) and an autograder zip for `otter run`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCES = Path("instructor") / "source"


def sources(root: Path, names: list[str] | None = None) -> list[Path]:
    """The instructor sources, all of them or those whose stem starts with one of `names`."""
    found = sorted((root / SOURCES).glob("*.ipynb"))
    if names:
        found = [p for p in found if any(p.stem.startswith(n) for n in names)]
    return found


def normalized(path: Path) -> str:
    """The notebook as the kit commits it: no outputs, no execution counts, stable JSON."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(notebook, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def assign(source: Path, student_dir: Path, autograder_dir: Path | None = None) -> Path:
    """Run Otter Assign on one source; write the student notebook (and the autograder zip)."""
    with tempfile.TemporaryDirectory(prefix="assign_") as tmp:
        out = Path(tmp) / "dist"
        command = [sys.executable, "-m", "otter", "assign", "--no-run-tests", "--no-pdfs"]
        done = subprocess.run(
            [*command, str(source), str(out)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"otter assign failed on {source}:\n{done.stderr or done.stdout}")
        student_dir.mkdir(parents=True, exist_ok=True)
        target = student_dir / source.name
        target.write_text(normalized(out / "student" / source.name), encoding="utf-8")
        if autograder_dir is not None:
            autograder_dir.mkdir(parents=True, exist_ok=True)
            (zipped,) = (out / "autograder").glob("*.zip")
            shutil.copyfile(zipped, autograder_dir / f"{source.stem}.zip")
        return target
