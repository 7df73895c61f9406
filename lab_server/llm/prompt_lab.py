"""The prompt lab of notebook 04: try prompt versions v1, v2, v3 on the course's three cases.

The course grades "prompt iterations v1→v3 on the three test cases" (corporate news, product
launch, event). `try_prompt` runs one version on every case through the same `Adapter` the
kit uses, and records per network what a comparison needs: whether the answer met the schema
(at once, after the one corrected retry, or not at all), its length against the network's
limit, its hashtags, and the tokens the server counted. `comparison` sums that up per network
and version; the notebook draws the table and the plot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ..config import Settings
from .adaptation import LIMITS, NETWORKS, AdaptationError, Adapter, published_text

#: What `Trial.schema` says, in the notebook's words.
VALID, CORRECTED, INVALID = "válido", "válido tras corregir", "inválido"


def course_cases() -> list[dict[str, str]]:
    """The course's three cases (`case`, `title`, `content`), from the package's data."""
    folder = resources.files("lab_server") / "cases"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".json")), key=lambda p: p.name)
    return [json.loads(p.read_text(encoding="utf-8")) for p in files]


@dataclass(frozen=True)
class Trial:
    """One prompt version on one case, seen from one network."""

    version: str
    case: str
    network: str
    schema: str
    characters: int | None = None
    hashtags: int | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    error: str = ""

    @property
    def within_limit(self) -> bool:
        return self.characters is not None and self.characters <= LIMITS[self.network]


def try_prompt(
    version: str,
    prompt: str | None,
    settings: Settings,
    cases: Iterable[dict[str, str]] | None = None,
    networks: Iterable[str] = NETWORKS,
) -> list[Trial]:
    """`prompt` (None: the packaged v1) on each case; an invalid prompt raises
    `AdaptationInputError` before any request, an invalid answer becomes `INVALID` rows."""
    chosen = list(networks)
    Adapter(settings, prompt=prompt)  # a prompt with a wrong $marker fails here, once
    trials = []
    for case in cases if cases is not None else course_cases():
        adapter = Adapter(settings, prompt=prompt)
        try:
            posts: dict[str, dict[str, Any]] | None = adapter.adapt(
                case["title"], case["content"], chosen
            )
            error = ""
        except AdaptationError as exc:
            posts, error = None, str(exc)
        # the case's tokens, shared out over its networks so that sums stay right
        share_in, share_out = (
            adapter.prompt_tokens / len(chosen),
            adapter.completion_tokens / len(chosen),
        )
        for network in chosen:
            post = posts[network] if posts else None
            trials.append(
                Trial(
                    version=version,
                    case=case["case"],
                    network=network,
                    schema=INVALID
                    if post is None
                    else VALID
                    if adapter.answers == 1
                    else CORRECTED,
                    characters=len(published_text(post)) if post else None,
                    hashtags=len(post.get("hashtags", [])) if post else None,
                    tokens_in=round(share_in),
                    tokens_out=round(share_out),
                    error=error,
                )
            )
    return trials


@dataclass(frozen=True)
class Summary:
    """One network and one version over the cases: the comparison table's row."""

    network: str
    version: str
    cases: int
    valid: int
    within_limit: int
    characters: float
    hashtags: float
    tokens_in: int
    tokens_out: int

    def cost(self, price_in: float, price_out: float) -> float:
        """Estimated USD for these tokens at `price_in`/`price_out` USD per million tokens."""
        return (self.tokens_in * price_in + self.tokens_out * price_out) / 1_000_000


def comparison(trials: Iterable[Trial]) -> list[Summary]:
    """Rows per network, then per version in the order first seen (v1, v2, v3)."""
    groups: dict[tuple[str, str], list[Trial]] = {}
    for trial in trials:
        groups.setdefault((trial.network, trial.version), []).append(trial)
    order = {n: i for i, n in enumerate(NETWORKS)}
    rows = []
    for (network, version), group in sorted(groups.items(), key=lambda kv: order[kv[0][0]]):
        done = [t for t in group if t.characters is not None]
        rows.append(
            Summary(
                network=network,
                version=version,
                cases=len(group),
                valid=len(done),
                within_limit=sum(t.within_limit for t in done),
                characters=sum(t.characters or 0 for t in done) / len(done) if done else 0.0,
                hashtags=sum(t.hashtags or 0 for t in done) / len(done) if done else 0.0,
                tokens_in=sum(t.tokens_in for t in group),
                tokens_out=sum(t.tokens_out for t in group),
            )
        )
    return rows
