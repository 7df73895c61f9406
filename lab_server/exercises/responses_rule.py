"""Notebook 03, exercise 2: a keyword rule of the student's own in their copy of
responses.json, written as JSON text (as in the file) and answered through the Twilio stand-in.

A JSON slip (a comma too many, one missing) is reported with its line, never as a traceback,
both in the student's rule and in their copy of the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ResponsesFileError
from ..responses import json_problem, validate_responses
from .outcome import Outcome, is_placeholder

if TYPE_CHECKING:
    from ..sandbox.twilio import TwilioStandIn

KEYWORD = "horario"
QUESTION = "¿Cuál es el horario de atención?"


def _parse(name: str, text: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, json_problem(name, text, exc)


def add_rule(path: Path, rule: dict[str, Any]) -> None:
    """Put `rule` in the file's rules, replacing an earlier one with its name (re-runs)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["rules"] = [r for r in data["rules"] if r.get("name") != rule["name"]] + [rule]
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def check_rule(rule_text: Any, path: Path, twilio: TwilioStandIn, phone: str) -> Outcome:
    """The rule parses, has the keyword «horario», goes into `path`, and the bot answers it."""
    if is_placeholder(rule_text):
        return Outcome.pending('escribe tu regla en new_rule, como texto JSON entre """ """.')
    if not isinstance(rule_text, str):
        return Outcome.wrong(
            f'new_rule es el texto JSON de la regla (un str entre """ """), no un '
            f"{type(rule_text).__name__}."
        )
    rule, problem = _parse("tu regla (new_rule)", rule_text)
    if problem:
        return Outcome.wrong(problem)
    current, problem = _parse(path.name, path.read_text(encoding="utf-8"))
    if problem:
        return Outcome.wrong(problem + f" Corrige {path} (ábrelo en el editor de Jupyter).")
    try:
        others = [
            r
            for r in current["rules"]
            if not isinstance(rule, dict) or r != rule and r.get("name") != rule.get("name")
        ]
        validate_responses({**current, "rules": [*others, rule]})
    except ResponsesFileError as error:
        return Outcome.wrong(
            str(error).replace("responses.json: ", "tu regla no cumple el formato: ")
            + '. Una regla es {"name": …, "keywords": ["…"], "response": …}.'
        )
    keywords = [k.strip().lower() for k in rule["keywords"]]
    if KEYWORD not in keywords:
        return Outcome.wrong(
            f"entre las palabras clave ({', '.join(rule['keywords'])}) falta «{KEYWORD}»."
        )
    add_rule(path, rule)
    delivery = twilio.send_inbound(QUESTION, from_=phone)
    if delivery.replies != [rule["response"]]:
        return Outcome.wrong(
            f"a «{QUESTION}» el bot respondió {delivery.replies} y se esperaba tu regla "
            f"«{rule['name']}». Las reglas se revisan en orden: ¿otra regla anterior tiene una "
            "palabra de esa pregunta?"
        )
    return Outcome.ok(f"el bot responde con tu regla «{rule['name']}»: {rule['response']}")
