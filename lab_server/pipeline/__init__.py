"""The course project: one post, adapted per network by the model, published everywhere.

`Pipeline` (service.py) is the Python API notebooks and the portal use; `api.py` serves it
as `/api/posts...`; `jobs.py` is one job per publication, run by `queues.py` on RQ workers
(REDIS_URL) or in a thread pool; `records.py` holds its SQL; `log.py` the JSONL log.
"""

from .service import Pipeline, PipelineError, PostNotFound, PublicationLocked

__all__ = ["Pipeline", "PipelineError", "PostNotFound", "PublicationLocked"]
