"""Every exercise: the shipped placeholder is pending, the solution passes, wrong answers fail.

One Jupyter kernel per notebook runs the STUDENT notebook top to bottom. At each
`grader.check("ejercicioN")` cell it expects "⏳ Ejercicio N pendiente", then, in the same
kernel and at the same point of the lesson, runs the reference solution (from the instructor
source) and each wrong answer of tests/exercises/<notebook>.yaml, checks the line each prints,
and restores the placeholder before going on. See docs/exercises.md.
"""

from __future__ import annotations

import json
import os
import queue
import re
from pathlib import Path

import pytest
import yaml

from lab_server.grading.assign import assign, sources

from .conftest import ROOT

CASES = ROOT / "tests" / "exercises"
NOTEBOOKS = [p.stem for p in sources(ROOT)]
CHECK = re.compile(r'^grader\.check\("(ejercicio\d+)"\)\s*$')
SOLUTION = re.compile(r"# BEGIN SOLUTION NO PROMPT\n(.*?)# END SOLUTION\n", re.S)
PROMPT = re.compile(r'""" # BEGIN PROMPT\n.*?""" # END PROMPT\n', re.S)


def solutions(stem: str) -> dict[str, str]:
    """question → the solution cell as the instructor wrote it (given code + solution)."""
    cells = json.loads((ROOT / "instructor/source" / f"{stem}.ipynb").read_text("utf-8"))["cells"]
    found, current = {}, None
    for cell in cells:
        text = "".join(cell["source"])
        if cell["cell_type"] == "raw" and (name := re.search(r"^name: (ejercicio\d+)", text, re.M)):
            current = name.group(1)
        elif cell["cell_type"] == "code" and current and SOLUTION.search(text):
            found[current] = PROMPT.sub("", text).replace("# BEGIN SOLUTION NO PROMPT\n", "")
            found[current] = found[current].replace("# END SOLUTION\n", "")
            current = None
    return found


class Kernel:
    """A Jupyter kernel in notebooks/, with the environment `make test` uses."""

    def __init__(self, env: dict[str, str]) -> None:
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(
            kernel_name="python3", cwd=str(ROOT / "notebooks"), env={**os.environ, **env}
        )

    def run(self, code: str, timeout: float = 120) -> tuple[str, str | None]:
        """(printed text, error name or None) of one cell."""
        self.client.execute(code, store_history=True)
        printed, error = [], None
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(code[:80]) from None
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(printed), error

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def run_notebook(stem: str, env: dict[str, str]) -> dict[tuple[str, str], str]:
    """Run the student notebook, trying every case at its check; (question, case) → line."""
    notebook = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text("utf-8"))
    wrong = yaml.safe_load((CASES / f"{stem}.yaml").read_text("utf-8"))
    solved = solutions(stem)
    seen: dict[tuple[str, str], str] = {}
    kernel = Kernel(env)
    try:
        previous = ""
        for cell in notebook["cells"]:
            if cell["cell_type"] != "code":
                continue
            code = "".join(cell["source"])
            printed, error = kernel.run(code)
            assert error is None, f"{stem}: la celda falla tal como se entrega: {error}\n{code}"
            check = CHECK.match(code.strip())
            if check:
                question = check.group(1)
                seen[question, "shipped"] = printed.strip()
                trials = [("solution", solved[question])] + [
                    (case["name"], case["code"]) for case in wrong.get(question, [])
                ]
                for name, answer in trials:
                    kernel.run(previous)  # back to the placeholder
                    kernel.run(answer)  # a wrong answer may raise: its check still speaks
                    seen[question, name] = kernel.run(code)[0].strip()
                kernel.run(previous)
            previous = code
    finally:
        kernel.stop()
    return seen


ENGINES = {"01_apis": [{}], "00_entorno": [{}], "02_llms": [{}]}
#: 05 runs on PostgreSQL (the server of `make test`) and, with it unreachable, on SQLite.
ENGINES["05_postgresql"] = [{}, {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/postgres"}]
TEST_ENV = {"LAB_ENV_FILE": "none", "LAB_SANDBOX": "1", "LAB_PORT": "0"}


def runs() -> list[tuple[str, int]]:
    return [(stem, i) for stem in NOTEBOOKS for i in range(len(ENGINES.get(stem, [{}])))]


_results: dict[tuple[str, int], dict[tuple[str, str], str]] = {}


def results(stem: str, engine: int, tmp_path_factory) -> dict[tuple[str, str], str]:
    if (stem, engine) not in _results:
        data = tmp_path_factory.mktemp(f"data{stem}")
        env = {**TEST_ENV, "LAB_DATA_DIR": str(data), **ENGINES.get(stem, [{}])[engine]}
        _results[stem, engine] = run_notebook(stem, env)
    return _results[stem, engine]


def cases() -> list[tuple[str, int, str, str, str]]:
    """(notebook, engine, question, case, expected start of the line)."""
    out = []
    for stem, engine in runs():
        wrong = yaml.safe_load((CASES / f"{stem}.yaml").read_text("utf-8"))
        for question in solutions(stem):
            number = question.removeprefix("ejercicio")
            out.append((stem, engine, question, "shipped", f"⏳ Ejercicio {number} pendiente:"))
            out.append((stem, engine, question, "solution", f"✔ Ejercicio {number}:"))
            for case in wrong.get(question, []):
                out.append((stem, engine, question, case["name"], case["expect"]))
    return out


@pytest.mark.parametrize(
    ("stem", "engine", "question", "case", "expected"),
    cases(),
    ids=lambda v: str(v) if not isinstance(v, str) or len(v) < 40 else None,
)
def test_each_answer_prints_its_line(stem, engine, question, case, expected, tmp_path_factory):
    line = results(stem, engine, tmp_path_factory)[question, case]
    assert "\n" not in line, f"una sola línea, no:\n{line}"
    assert line.startswith(expected), line


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_every_exercise_has_three_wrong_answers(stem):
    wrong = yaml.safe_load((CASES / f"{stem}.yaml").read_text("utf-8"))
    assert solutions(stem), f"no reference solution found in instructor/source/{stem}.ipynb"
    for question in solutions(stem):
        assert len(wrong.get(question, [])) >= 3, question
        expected = [case["expect"] for case in wrong[question]]
        assert len(set(expected)) == len(expected), "each wrong answer has its own message"


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_student_notebook_is_built_from_the_source(stem, tmp_path):
    """`make notebooks` was run after the last change to instructor/source/."""
    built = assign(ROOT / "instructor/source" / f"{stem}.ipynb", tmp_path)

    def shape(path: Path) -> list[tuple[str, str]]:
        cells = json.loads(path.read_text("utf-8"))["cells"]
        return [(c["cell_type"], "".join(c["source"])) for c in cells]

    assert shape(ROOT / "notebooks" / f"{stem}.ipynb") == shape(built)
