"""A local stand-in for OpenAI-compatible servers (OpenAI, Ollama, LM Studio).

Endpoints and shapes follow OpenAI's OpenAPI description (openai/openai-openapi, MIT) and
the API reference (platform.openai.com/docs/api-reference): POST /v1/chat/completions
(streaming, `n`, `tools`, structured outputs, JSON mode), POST /v1/responses (streaming,
`text.format`, function tools), POST /v1/images/generations, GET /v1/models and
GET /v1/models/{model}, with Bearer auth, OpenAI's error object
`{"error": {"message", "type", "param", "code"}}` and an `x-request-id` header on every
answer. Other API methods answer 400 in that shape, saying in Spanish that the classroom
sandbox does not simulate them. The tests validate the answers against the OpenAPI
schemas and drive the stand-in with the official `openai`, litellm and langchain-openai.

The model is simulated (`openai_model`): deterministic, marked «[sandbox]», and built so
each lesson shows (memory, temperature, instructions, per-network adaptation). Any JSON
Schema gets valid JSON (`openai_schema`). `behave()` makes it slow, failing, or return
invalid JSON, so the notebooks and tests can show the deadline and the retry.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, jsonify, request

from ..config import BY_NAME
from .base import StandIn
from .openai_model import Dice, chat_reply, news_from, text_of
from .openai_schema import Filler, json_in, schema_like

#: Models already shut down by OpenAI (platform-facts §3, deprecations page); the stand-in
#: answers 404 model_not_found for them, as the real API does.
RETIRED_MODELS = frozenset(
    {
        "gpt-3.5-turbo",
        "gpt-3.5-turbo-0125",
        "gpt-4",
        "gpt-4-turbo",
        "gpt-4.1-nano",
        "o1",
        "o3-mini",
        "o4-mini",
        "dall-e-2",
        "dall-e-3",
        "gpt-image-1",
    }
)
#: Reasoning models accept only the default temperature (1) and no `max_tokens`
#: (platform.openai.com/docs/guides/reasoning, "Reasoning models" and "Unsupported
#: parameters"): the o-series and the original gpt-5 family.
REASONING_MODELS = re.compile(
    r"^(o\d+(-mini|-pro)?|gpt-5(-mini|-nano|-pro)?)(-\d{4}-\d{2}-\d{2})?$"
)
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
ERRORS = {
    # OpenAI's documented error codes and messages (platform.openai.com/docs/guides/error-codes)
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests (sandbox)."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
#: Request body fields each endpoint takes (openapi.yaml: CreateChatCompletionRequest,
#: CreateResponse, CreateImageRequest, with the schemas they extend). Others get a 400.
CHAT_PARAMS = frozenset(
    [
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "messages",
        "metadata",
        "modalities",
        "model",
        "moderation",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    ]
)
RESPONSES_PARAMS = frozenset(
    [
        "background",
        "context_management",
        "conversation",
        "include",
        "input",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "metadata",
        "model",
        "moderation",
        "parallel_tool_calls",
        "previous_response_id",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning",
        "safety_identifier",
        "service_tier",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
    ]
)
IMAGE_PARAMS = frozenset(
    [
        "background",
        "model",
        "moderation",
        "n",
        "output_compression",
        "output_format",
        "partial_images",
        "prompt",
        "quality",
        "response_format",
        "size",
        "stream",
        "style",
        "user",
    ]
)
#: gpt-image models take these sizes; `response_format` and `style` were DALL·E's only
#: (API reference, "Create image": size, response_format, style).
IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
DALLE_ONLY = ("response_format", "style")
#: First path segments of the real API (openapi.yaml `paths`) that the sandbox does not serve.
REAL_ONLY = frozenset(
    [
        "assistants",
        "audio",
        "batches",
        "chat",
        "completions",
        "containers",
        "conversations",
        "embeddings",
        "evals",
        "files",
        "fine_tuning",
        "images",
        "moderations",
        "organization",
        "projects",
        "realtime",
        "responses",
        "threads",
        "uploads",
        "vector_stores",
        "videos",
        "skills",
        "chatkit",
        "content_provenance_checks",
    ]
)


def error_body(message: str, kind: str, code: str | None = None, param: str | None = None):
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def tiny_png(seed: str, size: int = 8) -> bytes:
    """A valid `size`×`size` PNG of one colour chosen from `seed` (deterministic)."""
    r, g, b = (zlib.crc32(seed.encode()) & 0xFFFFFF).to_bytes(3, "big")
    row = b"\x00" + bytes((r, g, b)) * size

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * size))
        + chunk(b"IEND", b"")
    )


def count_tokens(text: str) -> int:
    """A rough, deterministic token count (about 4 characters per token)."""
    return max(1, (len(text) + 3) // 4)


message_text = text_of


class BadRequest(Exception):
    """A request the real API would refuse with 400 invalid_request_error."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


class Answer:
    """One choice of the simulated model: text, or tool calls, and why it stopped."""

    def __init__(
        self, text: str | None = None, calls: list[dict] | None = None, finish: str = "stop"
    ) -> None:
        self.text, self.calls, self.finish = text, calls or [], finish

    def tokens(self) -> int:
        return count_tokens((self.text or "") + "".join(c["arguments"] for c in self.calls))


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def check_params(body: dict, known: frozenset[str], chat: bool) -> None:
    """Unknown body fields get the real API's 400 (chat words it one way, the rest another)."""
    unknown = sorted(set(body) - known)
    if not unknown:
        return
    if chat:
        raise BadRequest(f"Unrecognized request argument supplied: {unknown[0]}")
    raise BadRequest(f"Unknown parameter: '{unknown[0]}'.", unknown[0], "unknown_parameter")


def check_sampling(body: dict, model: str, chat: bool) -> float:
    """The temperature to use; a 400 for out-of-range values and for reasoning models."""
    temperature = body.get("temperature")
    if temperature is None:
        return 1.0
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise BadRequest(
            f"Invalid type for 'temperature': expected a decimal, but got "
            f"{type(temperature).__name__} instead.",
            "temperature",
            "invalid_type",
        )
    if temperature < 0 or temperature > 2:
        side = "above maximum" if temperature > 2 else "below minimum"
        bound = "<= 2" if temperature > 2 else ">= 0"
        raise BadRequest(
            f"Invalid 'temperature': decimal {side} value. Expected a value {bound}, but got "
            f"{temperature} instead.",
            "temperature",
            "decimal_above_max_value" if temperature > 2 else "decimal_below_min_value",
        )
    if REASONING_MODELS.match(model) and temperature != 1:
        if chat:
            raise BadRequest(
                f"Unsupported value: 'temperature' does not support {temperature} with this "
                "model. Only the default (1) value is supported.",
                "temperature",
                "unsupported_value",
            )
        raise BadRequest(
            "Unsupported parameter: 'temperature' is not supported with this model.",
            "temperature",
            "unsupported_parameter",
        )
    return float(temperature)


class OpenAIStandIn(StandIn):
    """OpenAI's API on a loopback port, with switches to misbehave on purpose."""

    service = "openai"

    def __init__(self) -> None:
        self.api_key = "sk-sandbox-" + secrets.token_hex(16)
        self._stopping = threading.Event()
        self._rules_lock = threading.Lock()
        self.models_used: set[str] = set()
        self.behave()
        super().__init__()

    # -- switches ------------------------------------------------------------------------

    def behave(
        self,
        *,
        delay: float = 0.0,
        error: int | None = None,
        invalid: str | None = None,
        structured: bool = True,
        times: int | None = None,
    ) -> None:
        """Misbehave on purpose; `behave()` with no arguments makes it normal again.

        delay: seconds to wait before each model answer (a slow model).
        error: answer with this HTTP error: 404 (model_not_found), 429, 500 or 503.
        invalid: "json" (cut-off JSON) or "schema" (JSON missing a field) for schema requests.
        structured: False refuses `response_format` json_schema like servers without it.
        times: apply delay/error/invalid to the next `times` model requests only.
        """
        if error is not None and error not in (404, *ERRORS):
            raise ValueError(f"error debe ser 404, {', '.join(map(str, ERRORS))} o None")
        if invalid not in (None, "json", "schema"):
            raise ValueError('invalid debe ser "json", "schema" o None')
        with self._rules_lock:
            self.delay, self.error, self.invalid = float(delay), error, invalid
            self.structured = structured
            self.times = times

    def _misbehaviour(self) -> tuple[float, int | None, str | None]:
        """The (delay, error, invalid) for this model request, counting down `times`."""
        with self._rules_lock:
            if self.times is not None:
                if self.times <= 0:
                    return 0.0, None, None
                self.times -= 1
            return self.delay, self.error, self.invalid

    def model_requests(self) -> list:
        """Recorded requests that asked a model for something (not /v1/models)."""
        return [r for r in self.received if r.method == "POST" and r.path.startswith("/v1/")]

    def overrides(self) -> dict[str, str]:
        return {"OPENAI_API_KEY": self.api_key, "OPENAI_BASE_URL": self.base_url + "/v1"}

    def stop(self) -> None:
        self._stopping.set()  # cut short any sleeping "slow model"
        super().stop()

    # -- HTTP ----------------------------------------------------------------------------

    def routes(self, app: Flask) -> None:
        app.before_request(self._check_auth)
        app.after_request(self._request_id)
        app.add_url_rule("/v1/models", view_func=self._models, methods=["GET"])
        app.add_url_rule("/v1/models/<path:model>", view_func=self._model, methods=["GET"])
        app.add_url_rule("/v1/chat/completions", view_func=self._chat, methods=["POST"])
        app.add_url_rule("/v1/responses", view_func=self._responses, methods=["POST"])
        app.add_url_rule("/v1/images/generations", view_func=self._images, methods=["POST"])
        app.add_url_rule(
            "/v1/<path:rest>",
            view_func=self._not_served,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        )
        app.register_error_handler(404, lambda e: self._invalid_url())
        app.register_error_handler(405, lambda e: self._fail(405, "Method not allowed.", None))

    @staticmethod
    def _request_id(response: Response) -> Response:
        """Every API answer names its request (API reference, "Debugging requests")."""
        response.headers["x-request-id"] = "req_" + secrets.token_hex(16)
        response.headers["openai-processing-ms"] = "1"
        return response

    @staticmethod
    def _fail(status: int, message: str, code: str | None, kind: str = "invalid_request_error"):
        return jsonify(error_body(message, kind, code)), status

    def _invalid_url(self):
        """What the real API answers for a path it does not have."""
        return self._fail(404, f"Invalid URL ({request.method} {request.path})", None)

    def _not_served(self, rest: str):
        """A real API method the sandbox leaves out: a clear 400, never a puzzling 404."""
        if rest.split("/", 1)[0] not in REAL_ONLY:
            return self._invalid_url()
        return self._fail(
            400,
            f"El sandbox del curso no simula {request.method} /v1/{rest}. Simula solo "
            "chat/completions, responses, images/generations y models. Para probar este "
            "método usa una cuenta real de OpenAI (quita OPENAI_BASE_URL y pon tu "
            "OPENAI_API_KEY) o un servidor compatible como Ollama.",
            "not_simulated_in_sandbox",
        )

    def _check_auth(self):
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not header[7:].strip():
            return self._fail(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                None,
            )
        if not secrets.compare_digest(header[7:].strip(), self.api_key):
            return self._fail(401, "Incorrect API key provided (sandbox).", "invalid_api_key")
        return None

    @staticmethod
    def _model_object(model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": 0, "owned_by": "sandbox"}

    def _models(self):
        defaults = {BY_NAME["OPENAI_MODEL"].default, BY_NAME["OPENAI_IMAGE_MODEL"].default}
        ids = sorted(m for m in defaults | self.models_used if m)
        return jsonify(object="list", data=[self._model_object(m) for m in ids])

    def _model(self, model: str):
        """GET /v1/models/{model} (API reference, "Retrieve model"): any model not retired."""
        if model in RETIRED_MODELS:
            return self._model_not_found(model)
        return jsonify(self._model_object(model))

    def _model_call(self, handler: Callable, known: frozenset[str], chat: bool = False) -> Any:
        """Shared steps: parse and check the body, misbehave if asked, then answer."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return self._fail(400, "We could not parse the JSON body of your request.", None)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return self._fail(400, "you must provide a model parameter", None)
        if model in RETIRED_MODELS:
            return self._model_not_found(model)
        try:
            check_params(body, known, chat)
        except BadRequest as exc:
            return jsonify(error_body(str(exc), "invalid_request_error", exc.code, exc.param)), 400
        delay, error, invalid = self._misbehaviour()
        if delay and self._stopping.wait(delay):
            return self._fail(503, "The sandbox is shutting down.", None, "server_error")
        if error == 404:
            return self._model_not_found(model)
        if error:
            kind, code, message = ERRORS[error]
            return jsonify(error_body(message, kind, code)), error
        self.models_used.add(model)
        try:
            return handler(body, model, invalid)
        except BadRequest as exc:
            return jsonify(error_body(str(exc), "invalid_request_error", exc.code, exc.param)), 400

    def _model_not_found(self, model: str):
        return self._fail(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            "model_not_found",
        )

    def _chat(self):
        return self._model_call(self._chat_answer, CHAT_PARAMS, chat=True)

    def _responses(self):
        return self._model_call(self._responses_answer, RESPONSES_PARAMS)

    def _images(self):
        return self._model_call(self._image_answer, IMAGE_PARAMS)

    # -- the model -----------------------------------------------------------------------

    def _answer(
        self,
        messages: list[dict],
        *,
        schema: dict | None,
        json_mode: bool,
        tools: list[dict],
        forced: str | None,
        dice: Dice,
        invalid: str | None,
        max_tokens: int | None,
    ) -> Answer:
        """What the simulated model says: a tool call, JSON, or text."""
        last = messages[-1] if messages else {}
        wants_tool = forced is not None or (
            tools and last.get("role") not in ("tool", "function") and _tool_for(tools, messages)
        )
        if tools and wants_tool:
            tool = (
                next((t for t in tools if t["name"] == forced), None)
                or _tool_for(tools, messages)
                or tools[0]
            )
            context = _last_user(messages)
            filler = Filler(tool["parameters"], dice, context, marked=False)
            arguments = json.dumps(filler.fill(), ensure_ascii=False)
            call = {"id": _new_id("call_"), "name": tool["name"], "arguments": arguments}
            return Answer(calls=[call], finish="tool_calls")
        if schema is not None or json_mode:
            return Answer(self._json_answer(schema, messages, dice, invalid))
        if last.get("role") in ("tool", "function"):
            result = " ".join(text_of(last.get("content")).split())[:300]
            text = f"[sandbox] Según la herramienta: {result}"
        else:
            text = chat_reply(messages, dice)
        if max_tokens is not None and count_tokens(text) > max_tokens:
            return Answer(text[: max(1, max_tokens * 4)], finish="length")
        return Answer(text)

    def _json_answer(
        self, schema: dict | None, messages: list[dict], dice: Dice, invalid: str | None
    ) -> str:
        system = "\n".join(
            text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer")
        )
        if schema is None:  # JSON mode: follow a schema or example written in the messages
            shown = json_in("\n".join(text_of(m.get("content")) for m in messages))
            schema = (
                schema_like(shown)
                if shown
                else {
                    "type": "object",
                    "properties": {"respuesta": {"type": "string"}},
                }
            )
        filler = Filler(schema, dice, _last_user(messages), system, news_from(messages))
        data = filler.fill()
        if invalid == "json":
            return json.dumps(data, ensure_ascii=False)[:40]
        if invalid == "schema" and isinstance(data, dict) and data:
            first = next(iter(data.values()))
            if isinstance(first, dict):
                first.pop("text", None)
        return json.dumps(data, ensure_ascii=False)

    # -- chat completions ----------------------------------------------------------------

    def _chat_answer(self, body: dict, model: str, invalid: str | None):
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("'messages' must be a non-empty array.", "messages")
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                raise BadRequest(f"Invalid value for 'messages[{i}].role'.", f"messages[{i}]")
        temperature = check_sampling(body, model, chat=True)
        if REASONING_MODELS.match(model) and body.get("max_tokens") is not None:
            raise BadRequest(
                "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                "'max_completion_tokens' instead.",
                "max_tokens",
                "unsupported_parameter",
            )
        n = body.get("n", 1)
        if n is None:
            n = 1
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 128:
            raise BadRequest(f"Invalid 'n': expected an integer from 1 to 128, got {n!r}.", "n")
        response_format = body.get("response_format") or {}
        if not isinstance(response_format, dict):
            raise BadRequest(
                "Invalid type for 'response_format': expected an object.", "response_format"
            )
        kind = response_format.get("type")
        if kind == "json_schema" and not self.structured:
            raise BadRequest(
                "response_format 'json_schema' is not supported by this server.",
                "response_format",
            )
        schema = _schema_from(response_format, messages)
        if kind == "json_object" and not any(
            "json" in text_of(m.get("content")).lower() for m in messages
        ):
            # Documented: JSON mode needs the word JSON in the messages (guides/structured-outputs)
            raise BadRequest(
                "'messages' must contain the word 'json' in some form, to use 'response_format' "
                "of type 'json_object'.",
                "messages",
            )
        tools, forced = _chat_tools(body)
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        answers = [
            self._answer(
                messages,
                schema=schema,
                json_mode=kind == "json_object",
                tools=tools,
                forced=forced,
                dice=Dice(
                    [
                        messages,
                        model,
                        temperature,
                        body.get("seed"),
                        i,
                        response_format,
                        body.get("tools"),
                    ],
                    temperature,
                ),
                invalid=invalid,
                max_tokens=limit
                if isinstance(limit, int) and not isinstance(limit, bool)
                else None,
            )
            for i in range(n)
        ]
        prompt_tokens = sum(count_tokens(text_of(m.get("content"))) for m in messages)
        completion_tokens = sum(a.tokens() for a in answers)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        ident, created = _new_id("chatcmpl-sandbox"), int(time.time())
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = _chat_stream(ident, created, model, answers, usage, include_usage)
            return Response(events, mimetype="text/event-stream")
        return jsonify(
            id=ident,
            object="chat.completion",
            created=created,
            model=model,
            system_fingerprint="fp_sandbox",
            service_tier="default",
            choices=[
                {
                    "index": i,
                    "message": _chat_message(answer),
                    "logprobs": None,
                    "finish_reason": answer.finish,
                }
                for i, answer in enumerate(answers)
            ],
            usage=usage,
        )

    # -- responses -----------------------------------------------------------------------

    def _responses_answer(self, body: dict, model: str, invalid: str | None):
        messages = _responses_messages(body.get("input"))
        if body.get("previous_response_id") or body.get("conversation"):
            raise BadRequest(
                "El sandbox del curso no guarda respuestas ni conversaciones: envía la "
                "conversación completa en `input` (lista de mensajes) en lugar de "
                "`previous_response_id` o `conversation`.",
                "previous_response_id" if body.get("previous_response_id") else "conversation",
                "not_simulated_in_sandbox",
            )
        if isinstance(body.get("instructions"), str):
            messages.insert(0, {"role": "developer", "content": body["instructions"]})
        temperature = check_sampling(body, model, chat=False)
        text_format = (body.get("text") or {}).get("format") or {}
        if not isinstance(text_format, dict):
            raise BadRequest("Invalid type for 'text.format': expected an object.", "text.format")
        schema = None
        if text_format.get("type") == "json_schema":
            schema = text_format.get("schema")
            if not isinstance(schema, dict):
                raise BadRequest(
                    "Missing required parameter: 'text.format.schema'.", "text.format.schema"
                )
        tools, forced = _responses_tools(body)
        limit = body.get("max_output_tokens")
        answer = self._answer(
            messages,
            schema=schema,
            json_mode=text_format.get("type") == "json_object",
            tools=tools,
            forced=forced,
            dice=Dice([messages, model, temperature, text_format, body.get("tools")], temperature),
            invalid=invalid,
            max_tokens=limit if isinstance(limit, int) and not isinstance(limit, bool) else None,
        )
        input_tokens = sum(count_tokens(text_of(m.get("content"))) for m in messages)
        response = {
            "id": _new_id("resp_sandbox"),
            "object": "response",
            "created_at": int(time.time()),
            "status": "incomplete" if answer.finish == "length" else "completed",
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"}
            if answer.finish == "length"
            else None,
            "instructions": body.get("instructions"),
            "max_output_tokens": limit,
            "model": model,
            "output": _responses_output(answer),
            "parallel_tool_calls": body.get("parallel_tool_calls", True),
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "store": body.get("store", True),
            "temperature": temperature,
            "text": {"format": text_format or {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "top_p": 1.0,
            "truncation": "disabled",
            "metadata": body.get("metadata") or {},
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": answer.tokens(),
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + answer.tokens(),
            },
        }
        if body.get("stream"):
            return Response(_responses_stream(response), mimetype="text/event-stream")
        return jsonify(response)

    # -- images --------------------------------------------------------------------------

    def _image_answer(self, body: dict, model: str, invalid: str | None):
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise BadRequest("'prompt' must be a non-empty string.", "prompt")
        if model.startswith("gpt-image"):
            for name in DALLE_ONLY:
                if name in body:
                    raise BadRequest(f"Unknown parameter: '{name}'.", name, "unknown_parameter")
            size = body.get("size", "auto")
            if size not in IMAGE_SIZES:
                allowed = (
                    ", ".join(f"'{s}'" for s in IMAGE_SIZES[:-1]) + f", and '{IMAGE_SIZES[-1]}'"
                )
                raise BadRequest(
                    f"Invalid value: '{size}'. Supported values are: {allowed}.",
                    "size",
                    "invalid_value",
                )
        n = body.get("n", 1) or 1
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10:
            raise BadRequest(f"Invalid 'n': expected an integer from 1 to 10, got {n!r}.", "n")
        images = [
            {
                "b64_json": base64.b64encode(tiny_png(f"{prompt}#{i}")).decode(),
                "revised_prompt": "[sandbox] " + prompt,
            }
            for i in range(n)
        ]
        tokens = count_tokens(prompt)
        return jsonify(
            created=int(time.time()),
            data=images,
            output_format="png",
            size="1024x1024",
            quality="low",
            background="opaque",
            usage={
                "input_tokens": tokens,
                "output_tokens": 16 * n,
                "total_tokens": tokens + 16 * n,
                "input_tokens_details": {"text_tokens": tokens, "image_tokens": 0},
            },
        )


# -- request helpers ---------------------------------------------------------------------


def _last_user(messages: list[dict]) -> str:
    users = [text_of(m.get("content")) for m in messages if m.get("role") == "user"]
    return users[-1] if users else ""


def _schema_from(response_format: dict, messages: list[dict]) -> dict | None:
    """The JSON Schema the answer must follow: response_format, else a ```json block of the
    system prompt (where a server without structured outputs has it)."""
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if isinstance(schema, dict):
            return schema
        raise BadRequest(
            "Missing required parameter: 'response_format.json_schema.schema'.",
            "response_format.json_schema.schema",
        )
    if response_format.get("type") == "json_object":
        return None
    for message in messages:
        if message.get("role") not in ("system", "developer"):
            continue
        block = re.search(r"```json\s*\n(.*?)\n\s*```", text_of(message.get("content")), re.S)
        if block:
            try:
                schema = json.loads(block.group(1))
            except json.JSONDecodeError:
                continue
            if isinstance(schema, dict) and "properties" in schema:
                return schema
    return None


def _tool(name: Any, parameters: Any, description: Any) -> dict:
    if not isinstance(name, str) or not name:
        raise BadRequest("Missing required parameter: 'tools[].function.name'.", "tools")
    params = parameters if isinstance(parameters, dict) else {"type": "object", "properties": {}}
    return {"name": name, "parameters": params, "description": str(description or "")}


def _chat_tools(body: dict) -> tuple[list[dict], str | None]:
    """Function tools and the forced tool's name (API reference, chat `tools`/`tool_choice`)."""
    given = body.get("tools") or []
    if not isinstance(given, list):
        raise BadRequest("Invalid type for 'tools': expected an array.", "tools")
    tools = []
    for item in given:
        if isinstance(item, dict) and item.get("type") == "function":
            fn = item.get("function") or {}
            tools.append(_tool(fn.get("name"), fn.get("parameters"), fn.get("description")))
    return tools, _forced(body.get("tool_choice"), tools, nested=True)


def _responses_tools(body: dict) -> tuple[list[dict], str | None]:
    """Function tools of the Responses API (flat: `{"type": "function", "name", ...}`)."""
    given = body.get("tools") or []
    if not isinstance(given, list):
        raise BadRequest("Invalid type for 'tools': expected an array.", "tools")
    tools = [
        _tool(t.get("name"), t.get("parameters"), t.get("description"))
        for t in given
        if isinstance(t, dict) and t.get("type") == "function"
    ]
    return tools, _forced(body.get("tool_choice"), tools, nested=False)


def _forced(choice: Any, tools: list[dict], nested: bool) -> str | None:
    """The tool the request forces: by name, or the best one for `required`."""
    if choice in (None, "auto", "none"):
        return None
    if choice == "required":
        if not tools:
            raise BadRequest("tool_choice 'required' needs at least one tool.", "tool_choice")
        return ""
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = (choice.get("function") or {}).get("name") if nested else choice.get("name")
        if not any(t["name"] == name for t in tools):
            raise BadRequest(
                f"Invalid value for 'tool_choice': function '{name}' is not in 'tools'.",
                "tool_choice",
            )
        return name
    raise BadRequest("Invalid value for 'tool_choice'.", "tool_choice")


def _tool_for(tools: list[dict], messages: list[dict]) -> dict | None:
    """The tool whose name or description shares a word with the user's last message."""
    said = {w[:5] for w in re.findall(r"[^\W\d_]{4,}", _last_user(messages).lower())}
    best, score = None, 0
    for tool in tools:
        about = f"{tool['name'].replace('_', ' ')} {tool['description']}".lower()
        words = {w[:5] for w in re.findall(r"[^\W\d_]{4,}", about)}
        if len(said & words) > score:
            best, score = tool, len(said & words)
    return best


def _responses_messages(given: Any) -> list[dict]:
    """Responses `input` as chat-like messages (strings, messages, function call items)."""
    if isinstance(given, str):
        return [{"role": "user", "content": given}]
    if not isinstance(given, list) or not all(isinstance(m, dict) for m in given):
        raise BadRequest("'input' must be a string or an array of messages.", "input")
    messages = []
    for item in given:
        kind = item.get("type", "message")
        if kind == "function_call_output":
            messages.append({"role": "tool", "content": str(item.get("output", ""))})
        elif kind == "function_call":
            messages.append({"role": "assistant", "content": ""})
        elif kind == "message":
            messages.append({"role": item.get("role", "user"), "content": item.get("content")})
    if not messages:
        raise BadRequest("'input' must contain at least one message.", "input")
    return messages


# -- answer shapes -----------------------------------------------------------------------


def _chat_message(answer: Answer) -> dict:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": answer.text,
        "refusal": None,
        "annotations": [],
    }
    if answer.calls:
        message["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
            for call in answer.calls
        ]
    return message


def _responses_output(answer: Answer) -> list[dict]:
    if answer.calls:
        return [
            {
                "type": "function_call",
                "id": "fc_" + call["id"][5:],
                "call_id": call["id"],
                "name": call["name"],
                "arguments": call["arguments"],
                "status": "completed",
            }
            for call in answer.calls
        ]
    return [
        {
            "type": "message",
            "id": _new_id("msg_sandbox"),
            "status": "completed",
            "role": "assistant",
            "content": [
                {
                    "type": "output_text",
                    "text": answer.text or "",
                    "annotations": [],
                    "logprobs": [],
                }
            ],
        }
    ]


def _pieces(text: str) -> list[str]:
    return re.findall(r"\S+\s*|\s+", text)


def _sse(data: Any, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _chat_stream(
    ident: str, created: int, model: str, answers: list[Answer], usage: dict, include_usage: bool
) -> Iterator[str]:
    """Chat Completions as server-sent events (API reference, "The chat completion chunk
    object"): with `stream_options.include_usage`, every chunk has `usage: null` and one
    last chunk with empty `choices` carries the usage."""

    def chunk(index: int, delta: dict, finish: str | None) -> str:
        body: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_sandbox",
            "choices": [
                {"index": index, "delta": delta, "finish_reason": finish, "logprobs": None}
            ],
        }
        if include_usage:
            body["usage"] = None
        return _sse(body)

    for index, answer in enumerate(answers):
        yield chunk(
            index,
            {
                "role": "assistant",
                "content": "" if answer.text is not None else None,
                "refusal": None,
            },
            None,
        )
        for position, call in enumerate(answer.calls):
            head = {
                "index": position,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": ""},
            }
            yield chunk(index, {"tool_calls": [head]}, None)
            for piece in _pieces(call["arguments"]):
                yield chunk(
                    index,
                    {"tool_calls": [{"index": position, "function": {"arguments": piece}}]},
                    None,
                )
        for piece in _pieces(answer.text or ""):
            yield chunk(index, {"content": piece}, None)
        yield chunk(index, {}, answer.finish)
    if include_usage:
        yield _sse(
            {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_sandbox",
                "choices": [],
                "usage": usage,
            }
        )
    yield "data: [DONE]\n\n"


def _responses_stream(response: dict) -> Iterator[str]:
    """The Responses API's streaming events, in order (API reference, "Streaming events"):
    created, in_progress, then per output item added → deltas → done, then completed."""
    sequence = iter(range(1_000_000))

    def event(kind: str, **fields: Any) -> str:
        return _sse({"type": kind, "sequence_number": next(sequence), **fields}, kind)

    started = {**response, "status": "in_progress", "output": [], "usage": None}
    yield event("response.created", response=started)
    yield event("response.in_progress", response=started)
    for index, item in enumerate(response["output"]):
        if item["type"] == "function_call":
            yield event(
                "response.output_item.added",
                output_index=index,
                item={**item, "arguments": "", "status": "in_progress"},
            )
            for piece in _pieces(item["arguments"]):
                yield event(
                    "response.function_call_arguments.delta",
                    item_id=item["id"],
                    output_index=index,
                    delta=piece,
                )
            yield event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                name=item["name"],
                output_index=index,
                arguments=item["arguments"],
            )
            yield event("response.output_item.done", output_index=index, item=item)
            continue
        part = item["content"][0]
        yield event(
            "response.output_item.added",
            output_index=index,
            item={**item, "status": "in_progress", "content": []},
        )
        empty = {**part, "text": ""}
        yield event(
            "response.content_part.added",
            item_id=item["id"],
            output_index=index,
            content_index=0,
            part=empty,
        )
        for piece in _pieces(part["text"]):
            yield event(
                "response.output_text.delta",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                delta=piece,
                logprobs=[],
            )
        yield event(
            "response.output_text.done",
            item_id=item["id"],
            output_index=index,
            content_index=0,
            text=part["text"],
            logprobs=[],
        )
        yield event(
            "response.content_part.done",
            item_id=item["id"],
            output_index=index,
            content_index=0,
            part=part,
        )
        yield event("response.output_item.done", output_index=index, item=item)
    final = "response.incomplete" if response["status"] == "incomplete" else "response.completed"
    yield event(final, response=response)


__all__ = ["RETIRED_MODELS", "OpenAIStandIn"]
