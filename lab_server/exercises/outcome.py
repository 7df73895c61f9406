"""What a check says about one exercise: pending, wrong or ok, in one Spanish sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

MARKS = {"pending": "⏳", "wrong": "✘", "ok": "✔"}


@dataclass(frozen=True)
class Outcome:
    status: Literal["pending", "wrong", "ok"]
    message: str

    @classmethod
    def pending(cls, message: str) -> Outcome:
        return cls("pending", message)

    @classmethod
    def wrong(cls, message: str) -> Outcome:
        return cls("wrong", message)

    @classmethod
    def ok(cls, message: str) -> Outcome:
        return cls("ok", message)

    @property
    def passed(self) -> bool:
        return self.status == "ok"

    def line(self, label: str) -> str:
        """`⏳ Ejercicio 1 pendiente: …`, `✘ Ejercicio 1: …` or `✔ Ejercicio 1: …`."""
        said = " ".join(self.message.split())
        if self.status == "pending":
            return f"{MARKS['pending']} {label} pendiente: {said}"
        return f"{MARKS[self.status]} {label}: {said}"

    def __str__(self) -> str:
        return self.line("Ejercicio")


def _empty() -> None: ...


def is_placeholder(value: Any) -> bool:
    """True for the `...` an exercise ships with, or a function whose body is only `...`."""
    if value is ...:
        return True
    code = getattr(value, "__code__", None)
    return code is not None and code.co_code == _empty.__code__.co_code
