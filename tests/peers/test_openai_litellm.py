"""litellm's OpenAI provider against the OpenAI stand-in over real HTTP."""

from __future__ import annotations

import json
import os

import pytest
from pydantic import BaseModel

# litellm fetches a model price map from the internet when imported; use its bundled copy.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
import litellm  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


class Post(BaseModel):
    text: str
    hashtags: list[str]


@pytest.fixture
def target(openai_standin) -> dict:
    return {
        "model": "openai/gpt-5.4-mini",
        "api_base": openai_standin.base_url + "/v1",
        "api_key": openai_standin.api_key,
        "num_retries": 0,
        "timeout": 10,
    }


def test_completion(target):
    response = litellm.completion(
        messages=[{"role": "user", "content": "¿Qué es un LLM?"}], **target
    )
    assert response.choices[0].message.content.startswith("[sandbox] ")
    assert response.usage.total_tokens > 0


def test_streaming_with_usage(target):
    chunks = list(
        litellm.completion(
            messages=[{"role": "user", "content": "¿Qué es un LLM?"}],
            stream=True,
            stream_options={"include_usage": True},
            **target,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("[sandbox] ") and "LLM" in text


def test_response_format_pydantic(target, openai_standin):
    response = litellm.completion(
        messages=[{"role": "user", "content": "Un post sobre la Feria de Ingeniería"}],
        response_format=Post,
        **target,
    )
    post = Post.model_validate_json(response.choices[0].message.content)
    assert post.text.startswith("[sandbox] ") and isinstance(post.hashtags, list)
    sent = openai_standin.requests_to("/chat/completions")[-1].json["response_format"]
    assert (
        sent["type"] == "json_schema" and "hashtags" in sent["json_schema"]["schema"]["properties"]
    )


def test_tools(target):
    tool = {
        "type": "function",
        "function": {
            "name": "lookup_course",
            "description": "Look up a course by its code",
            "parameters": {
                "type": "object",
                "properties": {"code": {"type": "string"}},
                "required": ["code"],
            },
        },
    }
    response = litellm.completion(
        messages=[{"role": "user", "content": "Look up the course SIS-101"}],
        tools=[tool],
        tool_choice="required",
        **target,
    )
    call = response.choices[0].message.tool_calls[0]
    assert call.function.name == "lookup_course" and "code" in json.loads(call.function.arguments)
    assert response.choices[0].finish_reason == "tool_calls"


def test_bad_request_maps_to_litellm_error(target):
    with pytest.raises(litellm.BadRequestError, match="temperature"):
        litellm.completion(
            messages=[{"role": "user", "content": "hola"}],
            temperature=0.3,
            **{**target, "model": "openai/o3"},
        )
