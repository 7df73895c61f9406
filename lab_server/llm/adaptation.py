"""Adapting one piece of news for each network: the course project's core step.

The model's answer is checked against a JSON Schema built from each network's rules
(character limit, hashtags, its extra field). An invalid answer is sent back once with
the validation error; a second invalid answer raises `AdaptationError`, so nothing is
ever published half-valid. Servers with structured outputs get the schema as
`response_format`; servers without them get the same schema in the prompt.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from string import Template
from typing import TYPE_CHECKING, Any

from ..config import Settings, load_settings
from ..errors import LabError
from .client import LLMError, explain, make_client
from .prompts import ADAPT_PROMPT, prompt_text

if TYPE_CHECKING:  # both take seconds to import: loaded where a post is adapted, not at start
    import openai
    from jsonschema.exceptions import ValidationError
    from openai import OpenAI

log = logging.getLogger("lab_server.llm")

#: Characters per post, as given in class (lectures/clase-03 of the course), except WhatsApp:
#: WhatsApp itself takes 4096, but the kit publishes it through Twilio, which refuses a body over
#: 1600 (error 21617). One figure, the one that can be sent, so an adapted post never needs cutting.
LIMITS = {"facebook": 63206, "instagram": 2200, "linkedin": 3000, "tiktok": 2200, "whatsapp": 1600}
NETWORKS = tuple(LIMITS)
#: Most hashtags each network's post may carry (Instagram allows 30; WhatsApp uses none).
MAX_HASHTAGS = {"facebook": 5, "instagram": 30, "linkedin": 5, "tiktok": 10, "whatsapp": 0}
#: The field each network adds to {text, hashtags, character_count} (course spec).
EXTRA_FIELDS: dict[str, dict[str, dict[str, Any]]] = {
    "instagram": {"suggested_image_prompt": {"type": "string", "minLength": 1, "maxLength": 1000}},
    "linkedin": {"tone": {"type": "string", "minLength": 1, "maxLength": 60}},
    "tiktok": {"video_hook": {"type": "string", "minLength": 1, "maxLength": 150}},
    "whatsapp": {"format": {"type": "string", "enum": ["conversational"]}},
}
MAX_TITLE = 500  # posts.title is VARCHAR(500) in the course's data model
MAX_CONTENT = 20000
SCHEMA_NAME = "adaptacion_por_red"
#: Keywords some servers' structured-output grammars reject; checked locally instead.
LOCAL_ONLY_KEYWORDS = {"minLength", "maxLength"}


class AdaptationInputError(LabError, ValueError):
    """`adapt()` was called with a title, content or network list it cannot use."""


class AdaptationError(LLMError):
    """The model's adaptation stayed invalid after one corrected retry."""


class InvalidAdaptation(Exception):
    """One invalid model answer, with a Spanish reason to send back to the model."""


def network_schema(network: str) -> dict[str, Any]:
    """JSON Schema of one network's post."""
    properties: dict[str, Any] = {
        "text": {"type": "string", "minLength": 1, "maxLength": LIMITS[network]},
        "hashtags": {
            "type": "array",
            "maxItems": MAX_HASHTAGS[network],
            "items": {"type": "string", "pattern": r"^#[^\s#]+$"},
        },
        "character_count": {"type": "integer", "minimum": 0},
        **EXTRA_FIELDS.get(network, {}),
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }


def adaptation_schema(networks: Iterable[str]) -> dict[str, Any]:
    """JSON Schema of the whole answer: one post per requested network, nothing else."""
    networks = list(networks)
    return {
        "type": "object",
        "additionalProperties": False,
        "required": networks,
        "properties": {n: network_schema(n) for n in networks},
    }


def model_schema(schema: Any) -> Any:
    """The schema as sent to the model: without the keywords only checked locally."""
    if isinstance(schema, dict):
        out = {k: model_schema(v) for k, v in schema.items() if k not in LOCAL_ONLY_KEYWORDS}
        if "properties" in schema:  # property names are data, never keywords to drop
            out["properties"] = {k: model_schema(v) for k, v in schema["properties"].items()}
        return out
    if isinstance(schema, list):
        return [model_schema(v) for v in schema]
    return schema


def published_text(post: dict[str, Any]) -> str:
    """What is actually posted: the text, then the hashtags on their own line."""
    tags = " ".join(post.get("hashtags") or [])
    return f"{post['text']}\n\n{tags}" if tags else post["text"]


def check_inputs(title: Any, content: Any, networks: Any) -> list[str]:
    """The networks to adapt for, or an `AdaptationInputError` saying what is wrong."""
    if not isinstance(title, str) or not title.strip():
        raise AdaptationInputError("El título está vacío: escribe el título de la noticia.")
    if len(title) > MAX_TITLE:
        raise AdaptationInputError(
            f"El título tiene {len(title)} caracteres; el máximo es {MAX_TITLE}."
        )
    if not isinstance(content, str) or not content.strip():
        raise AdaptationInputError("El contenido está vacío: escribe el texto de la noticia.")
    if len(content) > MAX_CONTENT:
        raise AdaptationInputError(
            f"El contenido tiene {len(content)} caracteres; el máximo es {MAX_CONTENT}. Resúmelo."
        )
    if isinstance(networks, str) or not isinstance(networks, Iterable):
        raise AdaptationInputError(
            f"networks debe ser una lista de redes, por ejemplo {list(NETWORKS[:2])}."
        )
    chosen = list(dict.fromkeys(networks))
    if not chosen:
        raise AdaptationInputError(
            f"La lista de redes está vacía: elige al menos una de {', '.join(NETWORKS)}."
        )
    unknown = [n for n in chosen if n not in LIMITS]
    if unknown:
        raise AdaptationInputError(
            f"Red desconocida: {unknown[0]!r}. Las redes válidas son: {', '.join(NETWORKS)}."
        )
    return chosen


def _where(error: ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(raíz)"


def describe(error: ValidationError) -> str:
    """One validation error in Spanish, naming the field."""
    where, value, rule = _where(error), error.instance, error.validator_value
    if error.validator == "maxLength":
        return f"«{where}» tiene {len(value)} caracteres y el máximo es {rule}"
    if error.validator == "minLength":
        return f"«{where}» está vacío"
    if error.validator == "required":
        missing = [k for k in rule if isinstance(value, dict) and k not in value]
        return f"a «{where}» le falta el campo «{missing[0] if missing else rule[0]}»"
    if error.validator == "additionalProperties":
        extra = sorted(set(value) - set(error.schema.get("properties", {})))
        return f"«{where}» tiene campos que no van: {', '.join(map(str, extra))}"
    if error.validator == "maxItems":
        return f"«{where}» tiene {len(value)} elementos y el máximo es {rule}"
    if error.validator == "pattern":
        return f"«{where}» = {value!r} no es un hashtag válido (empieza con # y sin espacios)"
    if error.validator == "enum":
        return f"«{where}» debe ser uno de {rule}, no {value!r}"
    if error.validator == "type":
        return f"«{where}» debe ser de tipo {rule}"
    return f"«{where}»: {error.message}"


def _json_text(raw: str) -> str:
    """The JSON inside a reply; tolerates only one surrounding Markdown code fence."""
    text = raw.strip()
    fence = re.fullmatch(r"```(?:json)?\s*\n(.*)\n\s*```", text, flags=re.DOTALL)
    return fence.group(1) if fence else text


def parse_adaptation(raw: str | None, networks: list[str]) -> dict[str, dict[str, Any]]:
    """The validated adaptation, with `character_count` recomputed; else `InvalidAdaptation`."""
    if not raw or not raw.strip():
        raise InvalidAdaptation("la respuesta está vacía")
    try:
        data = json.loads(_json_text(raw))
    except json.JSONDecodeError as exc:
        raise InvalidAdaptation(
            f"no es JSON válido (línea {exc.lineno}, columna {exc.colno}: {exc.msg})"
        ) from None
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(adaptation_schema(networks))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidAdaptation(describe(errors[0]))
    for network, post in data.items():
        if post["character_count"] != len(post["text"]):
            log.info(
                "%s: el modelo contó %d caracteres y son %d; se corrige",
                network,
                post["character_count"],
                len(post["text"]),
            )
            post["character_count"] = len(post["text"])
        total = len(published_text(post))
        if total > LIMITS[network]:
            raise InvalidAdaptation(
                f"«{network}» con sus hashtags tiene {total} caracteres y el máximo es "
                f"{LIMITS[network]}"
            )
    return {network: data[network] for network in networks}


def _unsupported_format(exc: openai.BadRequestError) -> bool:
    """True when a 400 says the server does not do `response_format` json_schema."""
    text = f"{exc.param or ''} {exc.message}".lower()
    return "response_format" in text or "json_schema" in text


def prompt_values(networks: list[str]) -> dict[str, str]:
    """What an adaptation prompt's `$placeholders` may use: `$esquema`, `$limite_<red>`,
    `$hashtags_<red>`."""
    values = {f"limite_{n}": f"{LIMITS[n]:,}".replace(",", " ") for n in NETWORKS}
    values |= {f"hashtags_{n}": str(MAX_HASHTAGS[n]) for n in NETWORKS}
    values["esquema"] = json.dumps(model_schema(adaptation_schema(networks)), ensure_ascii=False)
    return values


def check_prompt(prompt: Any) -> Template:
    """A student's prompt as a template, or an `AdaptationInputError` saying what to fix."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise AdaptationInputError(
            "El prompt está vacío: escribe las instrucciones (parte de una copia de "
            "prompt_text('adapt_v1'))."
        )
    template = Template(prompt.strip())
    known = set(prompt_values(list(NETWORKS)))
    try:
        unknown = sorted(set(template.get_identifiers()) - known)
    except ValueError:  # a "$" that starts no name
        unknown = ["$"]
    if unknown or not template.is_valid():
        raise AdaptationInputError(
            f"El prompt usa un marcador que no existe: ${unknown[0] if unknown else ''}. Los "
            "marcadores válidos son $esquema, $limite_<red> y $hashtags_<red>; escribe $$ para "
            "un signo $ literal."
        )
    return template


class Adapter:
    """Adapts posts with the configured model; remembers whether it has structured outputs.

    `prompt` replaces the packaged system prompt (`adapt_v1`): a `string.Template` text that
    may use `$esquema`, `$limite_<red>` and `$hashtags_<red>`. Without `$esquema`, a server
    without structured outputs does not see the schema, as with a real model.
    """

    def __init__(
        self, settings: Settings, client: OpenAI | None = None, prompt: str | None = None
    ) -> None:
        self.settings = settings
        self.template = check_prompt(prompt if prompt is not None else prompt_text(ADAPT_PROMPT))
        self.client = client or make_client(settings)
        #: None until the server has answered a structured request (True) or refused it (False)
        self.structured: bool | None = None
        #: What the answers so far cost, as the server counted it (`usage`): the prompt lab's
        #: token and price columns.
        self.prompt_tokens = self.completion_tokens = self.answers = 0

    def system_prompt(self, networks: list[str]) -> str:
        return self.template.substitute(prompt_values(networks))

    def _ask(self, messages: list[dict[str, str]], networks: list[str]) -> str | None:
        """One request; structured output first, plain JSON if the server refuses it."""
        import openai

        if self.structured is not False:
            response_format = {
                "type": "json_schema",
                "json_schema": {
                    "name": SCHEMA_NAME,
                    "strict": True,
                    "schema": model_schema(adaptation_schema(networks)),
                },
            }
            try:
                completion = self.client.chat.completions.create(
                    model=self.settings.openai_model,
                    messages=messages,  # type: ignore[arg-type]
                    response_format=response_format,  # type: ignore[arg-type]
                )
                self.structured = True
                return self._content(completion)
            except openai.BadRequestError as exc:
                if self.structured is True or not _unsupported_format(exc):
                    raise explain(exc, self.settings) from exc
                log.info("%s no admite salida estructurada; se usa JSON simple", exc.message)
                self.structured = False
            except openai.OpenAIError as exc:
                raise explain(exc, self.settings) from exc
        try:
            completion = self.client.chat.completions.create(
                model=self.settings.openai_model,
                messages=messages,  # type: ignore[arg-type]
            )
        except openai.OpenAIError as exc:
            raise explain(exc, self.settings) from exc
        return self._content(completion)

    def _content(self, completion: Any) -> str | None:
        self.answers += 1
        usage = getattr(completion, "usage", None)
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens or 0
            self.completion_tokens += usage.completion_tokens or 0
        if not completion.choices:
            return None
        message = completion.choices[0].message
        if getattr(message, "refusal", None):
            raise AdaptationError(f"El modelo se negó a adaptar esta noticia: {message.refusal}")
        return message.content

    def adapt(
        self, title: str, content: str, networks: Iterable[str] = NETWORKS
    ) -> dict[str, dict[str, Any]]:
        """Per network `{text, hashtags, character_count, <extra>}`, valid, or an error."""
        chosen = check_inputs(title, content, networks)
        news = {"titulo": title.strip(), "contenido": content.strip(), "redes": chosen}
        messages = [
            {"role": "system", "content": self.system_prompt(chosen)},
            {"role": "user", "content": json.dumps(news, ensure_ascii=False)},
        ]
        raw = self._ask(messages, chosen)
        try:
            return parse_adaptation(raw, chosen)
        except InvalidAdaptation as first:
            log.warning("Adaptación inválida (%s); se pide una corrección al modelo", first)
            messages += [
                {"role": "assistant", "content": raw or ""},
                {
                    "role": "user",
                    "content": f"Tu respuesta no es válida: {first}. Corrígela y responde solo "
                    "con el objeto JSON completo que cumple el esquema.",
                },
            ]
        raw = self._ask(messages, chosen)
        try:
            return parse_adaptation(raw, chosen)
        except InvalidAdaptation as second:
            log.error("Adaptación inválida también tras el reintento: %s", second)
            raise AdaptationError(
                f"El modelo «{self.settings.openai_model}» devolvió dos veces una adaptación "
                f"inválida ({second}); no se usa ninguna. Vuelve a intentarlo, prueba un "
                "modelo más capaz o acorta la noticia."
            ) from None


def adapt(
    title: str,
    content: str,
    networks: Iterable[str] = NETWORKS,
    *,
    settings: Settings | None = None,
    prompt: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Adapt one piece of news for each network (see `Adapter.adapt`); `prompt` replaces the
    packaged system prompt (see `Adapter`)."""
    return Adapter(settings or load_settings(), prompt=prompt).adapt(title, content, networks)
