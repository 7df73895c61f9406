"""Turn an Otter test result into the one Spanish line a student reads.

    ⏳ Ejercicio 2 pendiente: completa `answer` ...
    ✘ Ejercicio 2: Pediste channel=whatsapp; el ejercicio pide telegram.
    ✔ Ejercicio 2: el mensaje más reciente de Telegram llegó.

No traceback of the checking code ever reaches the student: Otter reports a failed
exception-based test case as "Error at line N in test q:\\n  <source line>\\n<Type>: <message>"
(otter/test_files/exception_test.py); only "<Type>: <message>" is kept.
"""

from __future__ import annotations

import re
from typing import Any

PENDING, FAILED, PASSED = "⏳", "✘", "✔"
_NUMBER = re.compile(r"(\d+)$")
_FAILURE = re.compile(
    r"^Error at line \d+ in test [^\n]*:\n[^\n]*\n(?P<type>\w+): (?P<msg>.*)\Z", re.S
)


def exercise_label(question: str) -> str:
    """`ejercicio2` → `Ejercicio 2` (question names end with the exercise's number)."""
    found = _NUMBER.search(question)
    return f"Ejercicio {found.group(1)}" if found else f"Ejercicio {question}"


def parse_failure(message: str) -> tuple[str, str]:
    """(exception type, message) out of Otter's failed-test-case text."""
    text = message.removeprefix("❌ Test case failed").strip()
    found = _FAILURE.match(text)
    if not found:
        lines = text.splitlines()
        return "Error", lines[-1] if lines else text
    return found.group("type"), found.group("msg").strip()


def failure_line(label: str, kind: str, message: str) -> str:
    """One line for a failed check: pending, a Spanish assert message, or an unexpected error."""
    message = " ".join(message.split())
    if kind == "Pending":
        return f"{PENDING} {label} pendiente: {message}"
    if kind == "AssertionError" and message:
        return f"{FAILED} {label}: {message}"
    return (
        f"{FAILED} {label}: tu respuesta produjo un error al revisarla ({kind}: {message}). "
        "Revisa el tipo y la forma de lo que escribiste."
    )


def feedback_line(question: str, result: Any) -> str:
    """The student's line for an Otter `TestFile` that has been run."""
    label = exercise_label(question)
    for case in result.test_case_results:
        if not case.passed:
            return failure_line(label, *parse_failure(case.message or ""))
    messages = [c.test_case.success_message for c in result.test_case_results]
    said = " ".join(m for m in messages if m) or "¡correcto!"
    return f"{PASSED} {label}: {said}"
