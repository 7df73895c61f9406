"""Exercises in the notebooks: Otter-Grader underneath, one Spanish line per check on top.

Students meet only `grader = Grader("01_apis.ipynb")` and `grader.check("ejercicio1")`.
The instructor side (building the student notebooks from `instructor/source/`, grading a
folder of submissions) lives in `assign` and `batch`; see docs/exercises.md.

`Grader` imports Otter (about 3 s), so it is loaded on first use (PEP 562), never by
`import lab_server` nor by `import lab_server.grading`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .checks import Pending, answered
from .feedback import exercise_label, feedback_line

if TYPE_CHECKING:
    from .notebook import Grader

__all__ = ["Grader", "Pending", "answered", "exercise_label", "feedback_line"]


def __getattr__(name: str) -> Any:
    if name == "Grader":
        from .notebook import Grader

        return Grader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
