"""Every student notebook, with each exercise's reference solution put in its cell, runs top to
bottom and every check says ✔, also the cells after the exercises (a table fed by the
answers, a plot), which tests/test_exercises.py never runs with the answers in place."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import ROOT
from .test_exercises import CHECK, ENGINES, NOTEBOOKS, TEST_ENV, solutions


def solved(stem: str) -> nbformat.NotebookNode:
    """The student notebook with each check's preceding cell replaced by the solution."""
    notebook = nbformat.reads(
        (ROOT / "notebooks" / f"{stem}.ipynb").read_text("utf-8"), as_version=4
    )
    answers = solutions(stem)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    for before, cell in zip(code, code[1:], strict=False):
        check = CHECK.match(cell.source.strip())
        if check:
            before.source = answers[check.group(1)]
    return notebook


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_with_the_solutions_every_check_passes(stem, tmp_path, monkeypatch):
    for name, value in {**TEST_ENV, **ENGINES.get(stem, [{}])[0]}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LAB_DATA_DIR", str(tmp_path / "data"))
    notebook = solved(stem)
    NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    ).execute()
    lines = {}
    for cell in notebook.cells:
        check = cell.cell_type == "code" and CHECK.match(cell.source.strip())
        if check:
            printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            lines[check.group(1)] = printed.strip()
    assert lines and set(lines) == set(solutions(stem))
    wrong = {q: line for q, line in lines.items() if not line.startswith("✔")}
    assert not wrong, json.dumps(wrong, ensure_ascii=False, indent=1)


OWN_WEBHOOKS = ["03_whatsapp_twilio", "04_respuestas_y_llm", "06_telegram"]


def test_make_grade_scores_the_solved_and_the_shipped_notebooks(tmp_path):
    """`otter run` grades in a working copy outside the kit: the notebooks' setup must not
    depend on the folder they run in (03 once read responses.json from there)."""
    folder = tmp_path / "entregas"
    folder.mkdir()
    for stem in OWN_WEBHOOKS:
        nbformat.write(solved(stem), folder / f"{stem}_resuelto.ipynb")
    (folder / "06_sin_hacer.ipynb").write_bytes((ROOT / "notebooks/06_telegram.ipynb").read_bytes())
    out = tmp_path / "notas"
    done = subprocess.run(
        [sys.executable, "-m", "lab_server.grading", "grade", str(folder), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with (out / "grades.csv").open(encoding="utf-8") as f:
        rows = {row["notebook"]: (row["estado"], row["total"]) for row in csv.DictReader(f)}
    solved_rows = {f"{stem}_resuelto.ipynb": ("calificado", "2.0") for stem in OWN_WEBHOOKS}
    assert rows == {**solved_rows, "06_sin_hacer.ipynb": ("calificado", "0.0")}
    feedback = (out / "feedback" / "06_sin_hacer.txt").read_text(encoding="utf-8")
    assert "⏳ Ejercicio 1 pendiente" in feedback and "⏳ Ejercicio 2 pendiente" in feedback
