"""Where the lab's background threads write: a ring buffer the notebook can show.

A server thread that prints lands in whichever notebook cell happens to be running.
Instead, the kit's loggers (and werkzeug's request log) write here, and `Lab.logs()`
shows the recent lines on demand.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class RingHandler(logging.Handler):
    """Keeps the last `capacity` formatted records in memory."""

    def __init__(self, capacity: int = 1000) -> None:
        super().__init__(level=logging.INFO)
        self.lines: deque[str] = deque(maxlen=capacity)
        self.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
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


def recent(lines: int = 20) -> list[str]:
    """The last `lines` log lines, oldest first."""
    return list(_handler.lines)[-lines:]
