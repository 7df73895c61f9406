"""The one place that builds an OpenAI client and turns its errors into Spanish advice.

The official `openai` library talks to any OpenAI-compatible server (OpenAI, Ollama,
LM Studio, llama.cpp, the classroom sandbox): only `OPENAI_BASE_URL` changes. Its defaults
(10 minutes, 2 retries) are far too patient for a webhook, so both are always explicit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import LabError

if TYPE_CHECKING:  # the library takes 0.7 s to import: only where a model is called
    import openai
    from openai import OpenAI

log = logging.getLogger("lab_server.llm")

#: Seconds one request may take outside a webhook (adaptation, late answers, images).
REQUEST_TIMEOUT = 120.0
#: One retry on connection errors, 408, 409, 429 and 5xx (the library's backoff).
MAX_RETRIES = 1


class LLMError(LabError):
    """The model could not answer; the message says what to check."""


class ModelNotFoundError(LLMError):
    """The server does not offer the configured model (retired, misspelled, not pulled)."""


def make_client(
    settings: Settings, *, timeout: float = REQUEST_TIMEOUT, max_retries: int = MAX_RETRIES
) -> OpenAI:
    """An OpenAI client for the configured server, with explicit timeout and retries."""
    from openai import OpenAI

    return OpenAI(
        api_key=settings.require("OPENAI_API_KEY"),
        base_url=settings.openai_base_url,
        timeout=timeout,
        max_retries=max_retries,
    )


#: What to do about each library error (by its class name in `openai`), first match wins
#: ({server}, {model} are filled in).
ADVICE: tuple[tuple[str, str], ...] = (
    (
        "AuthenticationError",
        "{server} rechazó OPENAI_API_KEY (401). Cópiala otra vez de "
        "https://platform.openai.com/api-keys; con Ollama o LM Studio vale cualquier texto.",
    ),
    (
        "RateLimitError",
        "{server} respondió 429 (límite de uso o sin saldo). Espera un minuto o revisa "
        "tu plan y tu saldo en https://platform.openai.com/usage.",
    ),
    ("APITimeoutError", "El modelo «{model}» no respondió a tiempo en {server}."),
    (
        "APIConnectionError",
        "No se pudo conectar con {server}. Revisa OPENAI_BASE_URL y tu conexión; "
        "si usas un modelo local, ¿está encendido Ollama o LM Studio?",
    ),
)


def explain(exc: openai.OpenAIError, settings: Settings, model: str | None = None) -> LLMError:
    """The library's exception as an `LLMError` a student can act on."""
    import openai

    model = model or settings.openai_model
    server = settings.openai_base_url
    if isinstance(exc, openai.NotFoundError):
        return ModelNotFoundError(
            f"El servidor {server} no tiene el modelo «{model}» ({exc.code or 404}): puede estar "
            "retirado (p. ej. gpt-3.5-turbo), mal escrito o, en Ollama, sin descargar. "
            "Lista los disponibles con client.models.list() (o lab_server.llm.available_models()) "
            "y corrige OPENAI_MODEL en .env."
        )
    for kind, advice in ADVICE:
        if isinstance(exc, getattr(openai, kind)):
            return LLMError(advice.format(server=server, model=model))
    if isinstance(exc, openai.APIStatusError):
        return LLMError(f"{server} respondió {exc.status_code}: {exc.message}")
    return LLMError(f"Error del cliente de OpenAI: {exc}")


def available_models(settings: Settings) -> list[str]:
    """Ids of the models the configured server offers (what `OPENAI_MODEL` may name)."""
    import openai

    client = make_client(settings, timeout=15.0)
    try:
        return sorted(model.id for model in client.models.list())
    except openai.OpenAIError as exc:
        raise explain(exc, settings) from exc
