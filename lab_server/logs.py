"""Where the lab's background threads write: a ring buffer the notebook can show.

A server thread that prints lands in whichever notebook cell happens to be running.
Instead, the kit's loggers (and werkzeug's request log) write here, and `Lab.logs()`
shows the recent lines on demand.

A notebook restarts the lab between steps while the previous lab's threads (a late model
answer, say) may still log. Each line therefore remembers which lab it came from: the
lab's request threads set `origin`, and the threads they start copy it (contextvars),
so `Lab.logs()` shows its own lines and no one else's.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from contextvars import ContextVar
from typing import NamedTuple

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

#: The lab a log record belongs to (its `origin` number), None outside a lab's threads.
origin: ContextVar[int | None] = ContextVar("lab_server_log_origin", default=None)


class Line(NamedTuple):
    number: int
    origin: int | None
    text: str


class RingHandler(logging.Handler):
    """Keeps the last `capacity` formatted records in memory, numbered, with their origin."""

    def __init__(self, capacity: int = 1000) -> None:
        super().__init__(level=logging.INFO)
        self.lines: deque[Line] = deque(maxlen=capacity)
        self.numbers = itertools.count()
        self.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(Line(next(self.numbers), origin.get(), self.format(record)))
        except Exception:  # a log line must never break a request
            self.handleError(record)


_handler = RingHandler()
_lock = threading.Lock()


def capture_logs() -> RingHandler:
    """Route the kit's and werkzeug's log records into the ring buffer (idempotent)."""
    with _lock:
        for name in ("lab_server", "werkzeug", "waitress"):
            logger = logging.getLogger(name)
            if _handler not in logger.handlers:
                logger.addHandler(_handler)
            if logger.level == logging.NOTSET or logger.level > logging.INFO:
                logger.setLevel(logging.INFO)
    return _handler


def new_origin() -> int:
    """A number for a lab starting now: its lines are tagged with it, later lines are > it."""
    return next(_handler.numbers)


def recent(lines: int = 20, since: int | None = None) -> list[str]:
    """The last `lines` log lines, oldest first.

    With `since` (a lab's origin), only that lab's lines: those tagged with it, and untagged
    ones (the notebook's own thread, the stand-ins) logged after it started.
    """
    kept = [
        line.text
        for line in list(_handler.lines)
        if since is None or line.origin == since or (line.origin is None and line.number > since)
    ]
    return kept[-lines:]
