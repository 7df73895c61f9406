"""The publication log: one JSON line per attempt and outcome, a course deliverable.

`LAB_DATA_DIR/publications.jsonl`. Each line is written with one `write()` on a file opened
in append mode, so the lines of several workers (threads or processes) never interleave.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FILENAME = "publications.jsonl"


class PublicationLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_folder(cls, data_dir: Path) -> PublicationLog:
        return cls(Path(data_dir) / FILENAME)

    def append(self, event: str, publication: dict[str, Any], **fields: Any) -> dict[str, Any]:
        """Add one line: what happened to which publication, and the details."""
        record = {
            "at": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "event": event,
            "post_id": publication.get("post_id"),
            "publication_id": publication.get("id"),
            "network": publication.get("network"),
            **{k: v for k, v in fields.items() if v is not None},
        }
        line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        return record

    def read(self, post_id: str | None = None) -> list[dict[str, Any]]:
        """Every line (of one post, if given), oldest first."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as lines:
            records = [json.loads(line) for line in lines if line.strip()]
        return [r for r in records if post_id is None or r.get("post_id") == post_id]
