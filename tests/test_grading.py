"""`make grade`: a folder of notebooks → grades.csv + feedback, whatever a submission does.

A tiny one-exercise assignment is built with Otter Assign in a temporary kit folder; the
submissions are variants of its student notebook. Grading runs for real (`otter run`, a
Jupyter kernel per notebook), so this module takes about a minute or two.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lab_server.grading.assign import assign
from lab_server.grading.feedback import failure_line, feedback_line

FUNCTION = """def test_answer(env):
    from lab_server.grading import answered

    answer = answered(env, "answer")
    assert isinstance(answer, int), f"answer debe ser un número, no {type(answer).__name__}."
    assert answer == 42, f"answer vale {answer}; debe valer 42."
"""
TEST = (
    '''""" # BEGIN TEST CONFIG
success_message: answer vale 42.
""" # END TEST CONFIG
'''
    + FUNCTION
)
CONFIG = """# ASSIGNMENT CONFIG
name: 99_demo
init_cell: false
export_cell: false
check_all_cell: false
run_tests: false
tests:
  files: false
  ok_format: false
"""


def source_notebook(path: Path) -> Path:
    raw, md, code = (
        nbformat.v4.new_raw_cell,
        nbformat.v4.new_markdown_cell,
        nbformat.v4.new_code_cell,
    )
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.cells = [
        raw(CONFIG),
        md("# Demo"),
        code('from lab_server.grading import Grader\n\ngrader = Grader("99_demo.ipynb")'),
        raw("# BEGIN QUESTION\nname: ejercicio1\npoints: 1"),
        raw("# BEGIN SOLUTION"),
        code(
            '""" # BEGIN PROMPT\nanswer = ...  # TU CÓDIGO AQUÍ\n""" # END PROMPT\n'
            "# BEGIN SOLUTION NO PROMPT\nanswer = 42\n# END SOLUTION\n"
        ),
        raw("# END SOLUTION"),
        raw("# BEGIN TESTS"),
        code(TEST),
        raw("# END TESTS"),
        raw("# END QUESTION"),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def kit(tmp_path_factory) -> Path:
    """A kit folder with one instructor source and its student notebook."""
    root = tmp_path_factory.mktemp("kit")
    (root / "responses.json").write_text("{}", encoding="utf-8")
    source = source_notebook(root / "instructor" / "source" / "99_demo.ipynb")
    assign(source, root / "notebooks")
    return root


def submission(kit: Path, folder: Path, name: str, answer: str, before: str = "") -> None:
    notebook = json.loads((kit / "notebooks" / "99_demo.ipynb").read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if "answer = ..." in "".join(cell["source"]):
            cell["source"] = answer
    if before:
        notebook["cells"].insert(1, nbformat.v4.new_code_cell(before))
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.ipynb").write_text(json.dumps(notebook), encoding="utf-8")


def test_the_student_notebook_has_the_placeholder_and_no_solution(kit):
    text = (kit / "notebooks" / "99_demo.ipynb").read_text(encoding="utf-8")
    assert "answer = ...  # TU CÓDIGO AQUÍ" in text
    assert "answer = 42" not in text
    assert 'grader.check(\\"ejercicio1\\")' in text


def test_a_failed_otter_case_becomes_one_spanish_line():
    from otter.test_files.exception_test import ExceptionTestFile

    body = "from otter.test_files import test_case\nname = 'ejercicio3'\n@test_case()\n"
    test = ExceptionTestFile.from_string(body + FUNCTION)
    test.run({"answer": "42"})
    assert feedback_line("ejercicio3", test) == "✘ Ejercicio 3: answer debe ser un número, no str."
    test.run({"answer": ...})
    assert feedback_line("ejercicio3", test).startswith(
        "⏳ Ejercicio 3 pendiente: completa `answer`"
    )
    test.run({"answer": 42})
    assert feedback_line("ejercicio3", test) == "✔ Ejercicio 3: ¡correcto!"


def test_an_unexpected_error_in_a_check_is_one_line_without_traceback():
    line = failure_line("Ejercicio 2", "KeyError", "'body'")
    assert line.startswith(
        "✘ Ejercicio 2: tu respuesta produjo un error al revisarla (KeyError: 'body')"
    )


def test_hanging_raising_and_deleting_submissions_do_not_stop_the_others(kit, tmp_path):
    folder = tmp_path / "entregas"
    submission(kit, folder, "ana", "answer = 42")
    submission(kit, folder, "beto", 'answer = "42"')
    submission(kit, folder, "dario", "answer = 42", before="import time\ntime.sleep(600)")
    submission(kit, folder, "eva", "answer = 42", before='raise RuntimeError("boom")')
    delete = (
        "import os, shutil\nfor f in os.listdir('.'):\n"
        "    shutil.rmtree(f) if os.path.isdir(f) else os.remove(f)"
    )
    submission(kit, folder, "fede", "answer = 42", before=delete)
    (folder / "notas.ipynb").write_text(json.dumps(nbformat.v4.new_notebook()), encoding="utf-8")
    out = tmp_path / "notas"

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab_server.grading",
            "grade",
            str(folder),
            "--out",
            str(out),
            "--timeout",
            "90",
        ],
        cwd=kit,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    with (out / "grades.csv").open(encoding="utf-8") as f:
        rows = {row["notebook"]: row for row in csv.DictReader(f)}
    assert {name: (row["estado"], row["99_demo:ejercicio1"]) for name, row in rows.items()} == {
        "ana.ipynb": ("calificado", "1.0"),
        "beto.ipynb": ("calificado", "0.0"),
        "dario.ipynb": ("tiempo agotado", ""),
        "eva.ipynb": ("calificado", "1.0"),
        "fede.ipynb": ("error", ""),  # it deleted the tests in its own copy
        "notas.ipynb": ("error", ""),
    }
    feedback = (out / "feedback" / "beto.txt").read_text(encoding="utf-8")
    assert "✘ Ejercicio 1: answer debe ser un número, no str." in feedback
    assert "No terminó en 90 s" in (out / "feedback" / "dario.txt").read_text(encoding="utf-8")
    assert folder.joinpath("fede.ipynb").is_file()  # it deleted its own copy only
