"""Every student notebook, with each exercise's reference solution put in its cell, runs top to
bottom and every check says ✔, also the cells after the exercises (a table fed by the
answers, a plot), which tests/test_exercises.py never runs with the answers in place."""

from __future__ import annotations

import json

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
