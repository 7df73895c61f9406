"""Where jobs run: RQ workers over Redis when REDIS_URL is set, else a thread pool here.

Either way the database is the source of truth and the queue only carries publication ids:
a `Dispatcher` thread puts each publication on the queue when it is due (published now,
scheduled with `publish_at`, a retry after its backoff, or a job whose worker died and whose
lease ran out). Putting an id on the queue twice is harmless: the job's claim lets one in.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Protocol

from .jobs import Runtime

log = logging.getLogger("lab_server.pipeline")

#: Name of the job function workers import.
JOB = "lab_server.pipeline.jobs.run_publication"
#: Seconds between the dispatcher's looks at the table while work is pending.
TICK = 0.2
#: A publication put on the queue and not claimed after this many seconds is put on it again
#: (the queue was flushed, Redis restarted); the claim keeps the repeat harmless.
REQUEUE_AFTER = 300.0
#: Threads of the in-process queue: enough for every network of one post at once.
IN_PROCESS_WORKERS = 8


class JobQueue(Protocol):
    def enqueue(self, publication_id: str) -> None: ...
    def close(self) -> None: ...


class InProcessQueue:
    """The jobs in a thread pool of this process (a laptop, a notebook, the tests)."""

    def __init__(self, runtime: Runtime, workers: int = IN_PROCESS_WORKERS) -> None:
        self.runtime = runtime
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="lab-publish")

    def enqueue(self, publication_id: str) -> None:
        self._pool.submit(self._run, publication_id)

    def _run(self, publication_id: str) -> None:
        try:
            self.runtime.run(publication_id)
        except Exception:  # the database itself failed: the dispatcher tries again later
            log.exception("El trabajo de la publicación %s falló", publication_id)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def redis_connection(url: str) -> Any:
    from redis import Redis

    return Redis.from_url(url)


class RQQueue:
    """The jobs on an RQ queue in Redis, run by `lab-server worker` processes."""

    def __init__(self, redis_url: str, name: str, lease: float) -> None:
        from rq import Queue

        self.connection = redis_connection(redis_url)
        self.queue = Queue(name, connection=self.connection)
        self.lease = lease

    def enqueue(self, publication_id: str) -> None:
        self.queue.enqueue(
            JOB,
            publication_id,
            job_timeout=int(self.lease),
            result_ttl=3600,
            failure_ttl=24 * 3600,
            description=f"publicar {publication_id}",
        )

    def close(self) -> None:
        self.connection.close()


class Dispatcher:
    """A thread that puts due publications on the queue; it sleeps when none is pending."""

    def __init__(self, runtime: Runtime, queue: JobQueue, tick: float = TICK) -> None:
        self.runtime = runtime
        self.queue = queue
        self.tick = tick
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        """Look at the table now (a post was published); start the thread if it is idle."""
        with self._lock:
            if self._stop.is_set():
                return
            self._wake.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="lab-publish-dispatcher", daemon=True
                )
                self._thread.start()

    def dispatch_once(self) -> int:
        """Put every due publication on the queue; how many were put."""
        now = self.runtime.clock()
        records = self.runtime.records
        sent = 0
        for publication_id in records.due(now, REQUEUE_AFTER):
            if records.mark_enqueued(publication_id, now, REQUEUE_AFTER):
                self.queue.enqueue(publication_id)
                sent += 1
        return sent

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.dispatch_once()
                upcoming = self.runtime.records.next_due()
            except Exception:  # the database is down: try again shortly
                log.exception("El despachador de publicaciones no pudo leer la base")
                upcoming = self.runtime.clock()
            if upcoming is None:
                with self._lock:
                    if not self._wake.is_set():
                        self._thread = None
                        return
                continue
            wait = (upcoming - self.runtime.clock()) / timedelta(seconds=1)
            self._wake.wait(min(max(wait, self.tick), 5.0))

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
