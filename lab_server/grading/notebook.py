"""`Grader`: Otter's in-notebook checker, printing one Spanish line per check."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import otter

from ..config import find_project_root
from .feedback import FAILED, exercise_label, feedback_line


def _locate(name: str) -> str | None:
    """The notebook file holding the checks: next to the kernel, or in the kit's notebooks/."""
    here = Path(name)
    if here.is_file():
        return str(here)
    root = find_project_root()
    kit = root / "notebooks" / here.name if root else None
    return str(kit) if kit and kit.is_file() else None


class Grader(otter.Notebook):
    """`grader.check("ejercicio1")` prints ⏳/✘/✔ and one Spanish line; it never raises."""

    def __init__(self, nb_path: str) -> None:
        self._missing: str | None = None
        if type(self)._grading_mode:  # `otter run`: the tests come from the autograder
            super().__init__(None)
            return
        found = _locate(nb_path)
        self._missing = None if found else nb_path
        super().__init__(found)

    def _log_event(self, *args: Any, **kwargs: Any) -> None:
        """No .OTTER_LOG file: the kit grades by re-running the notebook, not from logs."""

    def check(self, question: str, global_env: dict[str, Any] | None = None) -> None:  # type: ignore[override]
        env = global_env if global_env is not None else sys._getframe(1).f_globals
        label = exercise_label(question)
        if self._missing:
            print(
                f"{FAILED} {label}: no encuentro {self._missing} en esta carpeta; abre el "
                "notebook desde la carpeta notebooks/ del kit."
            )
            return
        try:
            result = super().check(question, env)
        except Exception as exc:  # the checker itself must never stop Run All
            print(f"{FAILED} {label}: no se pudo verificar ({type(exc).__name__}: {exc}).")
            return
        print(feedback_line(question, result))
