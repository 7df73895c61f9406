"""The client: explicit timeout and retries, and errors a student can act on."""

from __future__ import annotations

import socket

import pytest

from lab_server.errors import MissingCredentialError
from lab_server.llm import LLMError, ModelNotFoundError, available_models, make_client
from lab_server.llm.client import MAX_RETRIES, REQUEST_TIMEOUT

from .conftest import make_settings


def test_timeout_and_retries_are_explicit(llm_settings):
    client = make_client(llm_settings)
    assert client.timeout == REQUEST_TIMEOUT and client.max_retries == MAX_RETRIES <= 1
    assert str(client.base_url).rstrip("/") == llm_settings.openai_base_url


def test_no_key_says_where_to_get_one(tmp_path):
    with pytest.raises(MissingCredentialError, match="OPENAI_API_KEY"):
        make_client(make_settings(tmp_path))


def test_default_model_is_not_a_retired_one():
    from lab_server.config import BY_NAME
    from lab_server.sandbox.openai import RETIRED_MODELS

    assert BY_NAME["OPENAI_MODEL"].default not in RETIRED_MODELS
    assert BY_NAME["OPENAI_IMAGE_MODEL"].default not in RETIRED_MODELS


def test_available_models_lists_what_the_server_offers(llm_settings):
    assert llm_settings.openai_model in available_models(llm_settings)


def test_a_rejected_model_says_how_to_list_models(llm_settings):
    from lab_server.llm import ChatModel

    settings = llm_settings.with_values({"OPENAI_MODEL": "gpt-3.5-turbo"})
    with pytest.raises(ModelNotFoundError) as info:
        ChatModel(settings).reply("whatsapp", "hola")
    message = str(info.value)
    assert "gpt-3.5-turbo" in message and "client.models.list()" in message
    assert "OPENAI_MODEL" in message


def test_wrong_key_is_explained(llm_settings):
    from lab_server.llm import ChatModel

    settings = llm_settings.with_values({"OPENAI_API_KEY": "sk-otra"})
    with pytest.raises(LLMError, match="rechazó OPENAI_API_KEY"):
        ChatModel(settings).reply("whatsapp", "hola")


def test_unreachable_server_is_explained(tmp_path):
    from lab_server.llm import ChatModel

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = make_settings(
        tmp_path, OPENAI_API_KEY="x", OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1"
    )
    with pytest.raises(LLMError, match="No se pudo conectar"):
        ChatModel(settings).reply("whatsapp", "hola")


def test_rate_limit_is_explained(llm_settings, openai_standin):
    from lab_server.llm import ChatModel

    openai_standin.behave(error=429)
    with pytest.raises(LLMError, match="429"):
        ChatModel(llm_settings).reply("whatsapp", "hola")
    assert len(openai_standin.model_requests()) == 1 + MAX_RETRIES
