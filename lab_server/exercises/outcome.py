"""What a check says about one exercise: pending, wrong or ok, in one Spanish sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..grading.checks import Pending


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

    def require(self) -> str:
        """Inside an Otter check: pending raises `Pending`, wrong raises `AssertionError`
        (the line the student reads after "✘ Ejercicio N:"); ok returns the message."""
        said = " ".join(self.message.split())
        if self.status == "pending":
            raise Pending(said)
        if self.status == "wrong":
            raise AssertionError(said)
        return said


def _empty() -> None: ...


def is_placeholder(value: Any) -> bool:
    """True for the `...` an exercise ships with, or a function whose body is only `...`."""
    if value is ...:
        return True
    code = getattr(value, "__code__", None)
    return code is not None and code.co_code == _empty.__code__.co_code
