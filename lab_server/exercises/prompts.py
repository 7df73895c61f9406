"""Notebook 04: the student's own versions v2 and v3 of the adaptation prompt.

A version counts when it is the student's own text (not v1 or the previous version as it is,
nor a copy with a word changed, nor filler), when its `$markers` exist, and when the model
adapts the course's three cases with it. Each mistake gets its own sentence.
"""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any

from ..llm.adaptation import AdaptationInputError
from ..llm.prompt_lab import INVALID, try_prompt
from ..llm.prompts import ADAPT_PROMPT
from .outcome import Outcome, is_placeholder

if TYPE_CHECKING:
    from ..config import Settings

#: Above this share of equal text a version is the earlier one with a few words changed.
SAME = 0.95
#: Fewer different words than this is not yet a prompt for five networks.
MIN_WORDS = 25
FILLER = re.compile(r"lorem|ipsum|bla\s*bla|asdf|qwerty|xxx|todo:|texto de relleno", re.I)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-záéíóúñü]+", text.lower())


def _flat(text: str) -> str:
    return " ".join(text.split())


def _filler_problem(name: str, prompt: str) -> str | None:
    words = _words(prompt)
    if FILLER.search(prompt):
        return (
            f"{name} tiene texto de relleno ({FILLER.search(prompt).group(0)!r}): escribe "
            "instrucciones reales para el modelo."
        )
    if len(set(words)) < MIN_WORDS:
        return (
            f"{name} tiene {len(set(words))} palabras distintas: es muy corto para guiar al "
            f"modelo en cinco redes. Parte de prompt_text('{ADAPT_PROMPT}') y cambia lo que la "
            "tabla mostró."
        )
    common, times = Counter(words).most_common(1)[0]
    if times > len(words) * 0.3:
        return f"{name} repite «{common}» {times} veces de {len(words)} palabras: es relleno."
    return None


def check_prompt_version(
    prompt: Any, name: str, earlier: dict[str, str], settings: Settings
) -> Outcome:
    """`prompt` is the student's own version `name` and adapts the course's three cases.

    `earlier` maps the names of the versions before it ("v1", "tu v2") to their text.
    """
    if is_placeholder(prompt):
        return Outcome.pending(
            f'escribe tu {name} en la celda de arriba, como texto entre """ """ (reemplaza '
            "el `...`)."
        )
    if not isinstance(prompt, str):
        return Outcome.wrong(
            f'tu {name} es el texto del prompt (un str entre """ """), no un '
            f"{type(prompt).__name__}."
        )
    for before, text in earlier.items():
        if is_placeholder(text) or not isinstance(text, str):
            continue
        if _flat(prompt) == _flat(text):
            return Outcome.wrong(
                f"tu {name} es {before} tal cual: cambia las instrucciones que la tabla mostró "
                "mejorables (largo, hashtags, tono) y vuelve a ejecutar."
            )
        same = SequenceMatcher(None, _flat(text), _flat(prompt), autojunk=False).ratio()
        if same > SAME:
            return Outcome.wrong(
                f"tu {name} es {int(same * 100)} % igual a {before}: con una palabra cambiada no "
                "hay una "
                "versión nueva que comparar. Reescribe al menos una regla de una red."
            )
    problem = _filler_problem(f"tu {name}", prompt)
    if problem:
        return Outcome.wrong(problem)
    try:
        trials = try_prompt(name, prompt, settings)
    except AdaptationInputError as error:
        return Outcome.wrong(f"{error}")
    failed = next((t for t in trials if t.schema == INVALID), None)
    if failed:
        return Outcome.wrong(
            f"con tu {name}, el caso «{failed.case}» no se pudo adaptar: {failed.error}"
        )
    cases = len({t.case for t in trials})
    return Outcome.ok(
        f"tu {name} es tuyo y adaptó los {cases} casos del curso a las "
        f"{len({t.network for t in trials})} redes, dentro de sus límites."
    )
