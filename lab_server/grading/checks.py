"""What a check (an Otter test function) uses to say "not done yet" or "wrong".

A check is a plain function in the instructor's source notebook:

    def test_latest_message(env):
        answer, latest_text = answered(env, "answer", "latest_text")
        assert answer.status_code == 200, "El servidor respondió ..."

`answered` raises `Pending` while the student has not replaced the placeholder `...`;
every `assert` message is the one Spanish line the student reads after "✘ Ejercicio N:".
"""

from __future__ import annotations

from typing import Any


class Pending(Exception):
    """The exercise still holds its placeholder: the message says what to write."""


def answered(env: dict[str, Any], *names: str, hint: str = "") -> Any:
    """The values of `names` in the notebook, or `Pending` while one is missing or `...`.

    Returns the single value for one name, a tuple for several.
    """
    missing = [name for name in names if env.get(name, ...) is ...]
    if missing:
        listed = ", ".join(f"`{name}`" for name in missing)
        raise Pending(hint or f"completa {listed} en la celda de arriba (reemplaza el `...`).")
    values = tuple(env[name] for name in names)
    return values[0] if len(values) == 1 else values
