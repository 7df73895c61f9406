"""Grade a folder of submitted notebooks, offline and without Docker: `make grade`.

Each submission is graded by `otter run` in a child process of its own, in a temporary
working copy (the submission and its autograder), with a time limit that kills the child's
whole process group (the Jupyter kernel included). A submission that hangs, raises or deletes
files therefore costs only its own row. Results: one CSV row per notebook, one column per
exercise, and a short Spanish feedback file per student.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .feedback import FAILED, exercise_label

#: What the grading child prints before its JSON line, so the parent finds it among Otter's logs.
MARK = "@@lab-grading@@"
#: The sandbox, a free port and no personal .env, as in `make test`.
GRADING_ENV = {"LAB_ENV_FILE": "none", "LAB_SANDBOX": "1", "LAB_PORT": "0"}


@dataclass
class Outcome:
    """The grade of one submitted notebook."""

    submission: Path
    assignment: str | None
    status: str  # "calificado" | "tiempo agotado" | "error"
    lines: dict[str, str] = field(default_factory=dict)  # question -> Spanish line
    scores: dict[str, float] = field(default_factory=dict)  # question -> points
    detail: str = ""


def assignment_of(path: Path) -> str | None:
    """The Otter assignment a notebook belongs to (written by Otter Assign in its metadata)."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        return notebook["metadata"]["otter"]["assignment_name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def grade_one(submission: Path, autograder: Path, timeout: float) -> Outcome:
    """Grade one notebook in a temporary working copy of its own, within `timeout` seconds."""
    assignment = assignment_of(submission)
    with tempfile.TemporaryDirectory(prefix="grade_") as tmp:
        work = Path(tmp)
        shutil.copyfile(submission, work / "submission.ipynb")
        shutil.copyfile(autograder, work / "autograder.zip")
        env = {**os.environ, **GRADING_ENV, "TMPDIR": tmp, "LAB_DATA_DIR": str(work / "data")}
        command = [sys.executable, "-m", "lab_server.grading", "run-one", "autograder.zip"]
        child = subprocess.Popen(
            [*command, "submission.ipynb"],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: the kernel dies with it
        )
        try:
            output, _ = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            return Outcome(submission, assignment, "tiempo agotado", detail=f"{timeout:.0f} s")
        finally:
            _kill_group(child.pid)
    for line in reversed(output.splitlines()):
        if line.startswith(MARK):
            results = json.loads(line.removeprefix(MARK))
            if not results:  # the notebook deleted the tests it was graded with
                return Outcome(submission, assignment, "error", detail="borró sus archivos")
            return Outcome(
                submission,
                assignment,
                "calificado",
                lines={q: r["line"] for q, r in results.items()},
                scores={q: r["score"] for q, r in results.items()},
            )
    tail = " ".join(output.strip().splitlines()[-3:])[-300:]
    return Outcome(submission, assignment, "error", detail=tail)


def _kill_group(pgid: int) -> None:
    """Whatever the submission left running (a server, a kernel) goes with its group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def run_one(autograder: str, submission: str) -> dict[str, dict[str, object]]:
    """In the grading child: `otter run`, then each question's points and Spanish line."""
    from otter.run import main as otter_run

    from .feedback import feedback_line

    results = otter_run(submission, autograder=autograder, output_dir=None, no_logo=True)
    return {
        name: {
            "score": float(result.score),
            "line": feedback_line(name, result),
        }
        for name, result in results.results.items()
    }


def write_report(outcomes: list[Outcome], out_dir: Path) -> Path:
    """`grades.csv` (one row per notebook, one column per exercise) and one feedback file each."""
    out_dir.mkdir(parents=True, exist_ok=True)
    feedback_dir = out_dir / "feedback"
    feedback_dir.mkdir(exist_ok=True)
    columns = sorted({f"{o.assignment}:{q}" for o in outcomes for q in o.scores})
    table = out_dir / "grades.csv"
    with table.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["notebook", "tarea", "estado", *columns, "total"])
        for o in outcomes:
            cells = [
                o.scores.get(c.split(":", 1)[1], "") if c.startswith(f"{o.assignment}:") else ""
                for c in columns
            ]
            writer.writerow(
                [o.submission.name, o.assignment or "", o.status, *cells, sum(o.scores.values())]
            )
    for o in outcomes:
        (feedback_dir / f"{o.submission.stem}.txt").write_text(feedback_text(o), encoding="utf-8")
    return table


def feedback_text(outcome: Outcome) -> str:
    """The student's short Spanish feedback."""
    head = f"Notebook: {outcome.submission.name}\n"
    if outcome.status == "tiempo agotado":
        return head + (
            f"{FAILED} No terminó en {outcome.detail}: alguna celda se queda esperando "
            "(un bucle sin fin, un input(), un servidor sin timeout). Ejecuta «Run All» y mira "
            "cuál no termina.\n"
        )
    if outcome.status == "error":
        return head + (
            f"{FAILED} No se pudo calificar: el notebook no se pudo ejecutar. Revisa que sea el "
            f"notebook del curso y que corra de principio a fin.\n({outcome.detail})\n"
        )
    lines = [outcome.lines.get(q) or f"{FAILED} {exercise_label(q)}" for q in sorted(outcome.lines)]
    total = sum(outcome.scores.values())
    return head + "\n".join(lines) + f"\nPuntaje: {total:g} de {len(outcome.scores)}.\n"


def grade_folder(
    submissions: Path, autograders: Path, out_dir: Path, timeout: float = 300
) -> list[Outcome]:
    """Grade every notebook in `submissions` against `autograders/<assignment>.zip`."""
    outcomes = []
    for path in sorted(submissions.glob("*.ipynb")):
        assignment = assignment_of(path)
        zipped = autograders / f"{assignment}.zip" if assignment else None
        if zipped is None or not zipped.is_file():
            outcomes.append(
                Outcome(
                    path, assignment, "error", detail="no es un notebook del curso con ejercicios"
                )
            )
            continue
        outcome = grade_one(path, zipped, timeout)
        print(f"{path.name}: {outcome.status} {sum(outcome.scores.values()):g}", flush=True)
        outcomes.append(outcome)
    write_report(outcomes, out_dir)
    return outcomes
