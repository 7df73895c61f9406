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
    """Keeps the last `capacity` formatted records in memory, each with its sequence number.

    The numbers let a lab show only what was logged since it started (`mark()`), not the
    previous lab's lines that are still in the buffer.
    """

    def __init__(self, capacity: int = 1000) -> None:
        super().__init__(level=logging.INFO)
        self.lines: deque[tuple[int, str]] = deque(maxlen=capacity)
        self.count = 0  # lines kept so far; `handle()` holds the handler's lock around `emit`
        self.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a log line must never break a request
            self.handleError(record)
            return
        self.count += 1
        self.lines.append((self.count, line))


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


def mark() -> int:
    """The sequence number of the last line so far: `recent(since=mark())` shows newer ones."""
    return _handler.count


def recent(lines: int = 20, since: int = 0) -> list[str]:
    """The last `lines` log lines logged after mark `since`, oldest first."""
    return [line for seq, line in list(_handler.lines) if seq > since][-lines:]
