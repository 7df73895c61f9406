"""A local stand-in for OpenAI-compatible servers (OpenAI, Ollama, LM Studio).

Endpoints and shapes follow OpenAI's OpenAPI description (openai/openai-openapi, MIT):
POST /v1/chat/completions (also `stream: true` as server-sent events), POST /v1/responses,
POST /v1/images/generations, GET /v1/models, with Bearer auth and OpenAI's error object
`{"error": {"message", "type", "param", "code"}}`. The tests validate its answers against
those schemas.

It is a fake model, not a model: replies start with «[sandbox]» and are built from the
prompt. When the request carries a JSON Schema (as `response_format`, or in a ```json
block of the system prompt, as the adaptation prompt does), it answers with JSON that fills
the schema. `behave()` makes it slow, failing, or return invalid JSON, so the notebooks
and tests can show the deadline and the retry.
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
from typing import Any

from flask import Flask, Response, jsonify, request

from ..config import BY_NAME
from .base import StandIn

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
ROLES = {"system", "developer", "user", "assistant", "tool"}
ERRORS = {
    # OpenAI's documented error codes and messages (platform.openai.com/docs/guides/error-codes)
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests (sandbox)."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


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


def message_text(content: Any) -> str:
    """The text of a message `content`: a string or a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


class BadRequest(Exception):
    """A request the real API would refuse with 400 invalid_request_error."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


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
        app.add_url_rule("/v1/models", view_func=self._models, methods=["GET"])
        app.add_url_rule("/v1/chat/completions", view_func=self._chat, methods=["POST"])
        app.add_url_rule("/v1/responses", view_func=self._responses, methods=["POST"])
        app.add_url_rule("/v1/images/generations", view_func=self._images, methods=["POST"])
        app.register_error_handler(404, lambda e: self._fail(404, "Unknown request URL.", None))
        app.register_error_handler(405, lambda e: self._fail(405, "Method not allowed.", None))

    @staticmethod
    def _fail(status: int, message: str, code: str | None, kind: str = "invalid_request_error"):
        return jsonify(error_body(message, kind, code)), status

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

    def _models(self):
        defaults = {BY_NAME["OPENAI_MODEL"].default, BY_NAME["OPENAI_IMAGE_MODEL"].default}
        ids = sorted(m for m in defaults | self.models_used if m)
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "sandbox"} for m in ids]
        return jsonify(object="list", data=data)

    def _model_call(self, handler) -> Any:
        """Shared steps: parse the body, check the model, misbehave if asked, then answer."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return self._fail(400, "We could not parse the JSON body of your request.", None)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return self._fail(400, "you must provide a model parameter", None)
        if model in RETIRED_MODELS:
            return self._model_not_found(model)
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
            return jsonify(error_body(str(exc), "invalid_request_error", None, exc.param)), 400

    def _model_not_found(self, model: str):
        return self._fail(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            "model_not_found",
        )

    def _chat(self):
        return self._model_call(self._chat_answer)

    def _responses(self):
        return self._model_call(self._responses_answer)

    def _images(self):
        return self._model_call(self._image_answer)

    # -- answers -------------------------------------------------------------------------

    def _chat_answer(self, body: dict, model: str, invalid: str | None):
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("'messages' must be a non-empty array.", "messages")
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ROLES:
                raise BadRequest(f"Invalid value for 'messages[{i}].role'.", f"messages[{i}]")
        response_format = body.get("response_format") or {}
        if response_format.get("type") == "json_schema" and not self.structured:
            raise BadRequest(
                "response_format 'json_schema' is not supported by this server.",
                "response_format",
            )
        schema = _schema_from(response_format, messages)
        content = (
            self._json_answer(schema, messages, invalid)
            if schema
            else self._text_answer(model, messages)
        )
        prompt_tokens = sum(count_tokens(message_text(m.get("content"))) for m in messages)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": count_tokens(content),
            "total_tokens": prompt_tokens + count_tokens(content),
        }
        ident, created = "chatcmpl-sandbox" + secrets.token_hex(8), int(time.time())
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = _stream(ident, created, model, content, usage if include_usage else None)
            return Response(events, mimetype="text/event-stream")
        return jsonify(
            id=ident,
            object="chat.completion",
            created=created,
            model=model,
            choices=[
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": content,
                        "refusal": None,
                        "annotations": [],
                    },
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            usage=usage,
        )

    def _text_answer(self, model: str, messages: list[dict]) -> str:
        users = [message_text(m.get("content")) for m in messages if m.get("role") == "user"]
        said = " ".join((users[-1] if users else "").split())  # echoed whole, even if long
        return (
            f"[sandbox] Respuesta simulada de «{model}» a «{said}» "
            f"({len(messages)} mensaje{'' if len(messages) == 1 else 's'} de contexto). "
            "Con un modelo real, aquí llegaría su "
            "respuesta."
        )

    def _json_answer(self, schema: dict, messages: list[dict], invalid: str | None) -> str:
        users = [message_text(m.get("content")) for m in messages if m.get("role") == "user"]
        try:
            source = json.loads(users[0]) if users else {}
        except json.JSONDecodeError:
            source = {}
        source = source if isinstance(source, dict) else {}
        title = str(source.get("titulo") or source.get("title") or "la noticia")
        data = fill_schema(schema, title, str(source.get("contenido") or ""))
        if invalid == "json":
            return json.dumps(data, ensure_ascii=False)[:40]
        if invalid == "schema" and isinstance(data, dict) and data:
            first = next(iter(data.values()))
            if isinstance(first, dict):
                first.pop("text", None)
        return json.dumps(data, ensure_ascii=False)

    def _responses_answer(self, body: dict, model: str, invalid: str | None):
        given = body.get("input")
        if isinstance(given, str):
            messages = [{"role": "user", "content": given}]
        elif isinstance(given, list) and all(isinstance(m, dict) for m in given):
            messages = [{"role": m.get("role", "user"), "content": m.get("content")} for m in given]
        else:
            raise BadRequest("'input' must be a string or an array of messages.", "input")
        if body.get("stream"):
            raise BadRequest("The sandbox does not stream /v1/responses.", "stream")
        if isinstance(body.get("instructions"), str):
            messages.insert(0, {"role": "developer", "content": body["instructions"]})
        text = self._text_answer(model, messages)
        input_tokens = sum(count_tokens(message_text(m.get("content"))) for m in messages)
        ident = secrets.token_hex(8)
        return jsonify(
            id="resp_sandbox" + ident,
            object="response",
            created_at=int(time.time()),
            status="completed",
            error=None,
            incomplete_details=None,
            instructions=body.get("instructions"),
            model=model,
            output=[
                {
                    "type": "message",
                    "id": "msg_sandbox" + ident,
                    "status": "completed",
                    "role": "assistant",
                    "content": [
                        {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
                    ],
                }
            ],
            parallel_tool_calls=True,
            tool_choice="auto",
            tools=[],
            temperature=body.get("temperature", 1.0),
            top_p=1.0,
            metadata={},
            usage={
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": count_tokens(text),
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + count_tokens(text),
            },
        )

    def _image_answer(self, body: dict, model: str, invalid: str | None):
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise BadRequest("'prompt' must be a non-empty string.", "prompt")
        png = base64.b64encode(tiny_png(prompt)).decode()
        tokens = count_tokens(prompt)
        return jsonify(
            created=int(time.time()),
            data=[{"b64_json": png, "revised_prompt": "[sandbox] " + prompt}],
            output_format="png",
            size="1024x1024",
            quality="low",
            background="opaque",
            usage={
                "input_tokens": tokens,
                "output_tokens": 16,
                "total_tokens": tokens + 16,
                "input_tokens_details": {"text_tokens": tokens, "image_tokens": 0},
            },
        )


def _schema_from(response_format: dict, messages: list[dict]) -> dict | None:
    """The JSON Schema the answer must follow: response_format, else a ```json block of the
    system prompt (where a server without structured outputs has it)."""
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if isinstance(schema, dict):
            return schema
        raise BadRequest("Missing required parameter: 'response_format.json_schema.schema'.")
    for message in messages:
        if message.get("role") not in ("system", "developer"):
            continue
        block = re.search(r"```json\s*\n(.*?)\n\s*```", message_text(message.get("content")), re.S)
        if block:
            try:
                schema = json.loads(block.group(1))
            except json.JSONDecodeError:
                continue
            if isinstance(schema, dict) and "properties" in schema:
                return schema
    return None


def fill_schema(schema: dict, title: str, content: str, name: str = "") -> Any:
    """Deterministic JSON that satisfies `schema` (objects, arrays, strings, enums, ints)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        out = {
            key: fill_schema(sub, title, content, key)
            for key, sub in (schema.get("properties") or {}).items()
        }
        if isinstance(out.get("text"), str) and "character_count" in out:
            out["character_count"] = len(out["text"])  # an honest count, as a good model gives
        return out
    if kind == "array":
        words = [w for w in re.findall(r"\w+", title) if len(w) > 3][:3]
        return ["#" + w.capitalize() for w in words][: schema.get("maxItems", 3)]
    if kind == "integer":
        return 0
    if name == "text":
        summary = " ".join(content.split())
        summary = summary if len(summary) <= 200 else summary[:199] + "…"
        return f"[sandbox] {title}. {summary}".strip()
    short = title if len(title) <= 30 else title[:29] + "…"
    return f"[sandbox] {name or 'texto'} para «{short}»"


def _stream(ident: str, created: int, model: str, content: str, usage: dict | None):
    """Server-sent events as the Chat Completions API streams them (platform-facts §3.1)."""

    def chunk(delta: dict, finish: str | None, **extra: Any) -> str:
        body = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""}, None)
    for word in re.findall(r"\S+\s*", content):
        yield chunk({"content": word}, None)
    yield chunk({}, "stop")
    if usage is not None:
        final = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }
        yield f"data: {json.dumps(final)}\n\n"
    yield "data: [DONE]\n\n"
