"""The system prompts, kept as versioned Spanish text files in `lab_server/prompts/`.

A prompt is changed by adding a new file (`bot_v2.md`) and pointing the constant at it,
so an experiment can always be compared with the version before.
"""

from __future__ import annotations

from importlib import resources
from string import Template

BOT_PROMPT = "bot_v1"
ADAPT_PROMPT = "adapt_v1"


def prompt_names() -> list[str]:
    """The packaged prompts' names (`bot_v1`, `adapt_v1`, ...), to list them in a notebook."""
    folder = resources.files("lab_server") / "prompts"
    return sorted(p.name[:-3] for p in folder.iterdir() if p.name.endswith(".md"))


def prompt_text(name: str) -> str:
    """The packaged prompt `name` as written, `$placeholders` included: a student's v2 starts
    from a copy of it."""
    if name not in prompt_names():
        raise ValueError(
            f"No hay un prompt «{name}». Los disponibles son: {', '.join(prompt_names())}."
        )
    text = (resources.files("lab_server") / "prompts" / f"{name}.md").read_text(encoding="utf-8")
    return text.strip()


def load_prompt(name: str) -> Template:
    """The prompt file `name` (without `.md`) as a `string.Template` with `$placeholders`."""
    return Template(prompt_text(name))


def render_prompt(name: str, **values: object) -> str:
    """The prompt with every placeholder filled; a missing value is a bug, so it raises."""
    return load_prompt(name).substitute({k: str(v) for k, v in values.items()})
