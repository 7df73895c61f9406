"""Fixtures shared by the LLM tests: a running OpenAI stand-in and settings pointed at it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from lab_server.config import Settings
from lab_server.sandbox.openai import OpenAIStandIn

from .conftest import make_settings

SPECS = Path(__file__).parent / "specs"
#: The course's three cases: package data, the same files notebook 04's prompt lab reads.
CASES = sorted(Path(str(resources.files("lab_server") / "cases")).glob("*.json"))


def spec_validator(name: str) -> Draft202012Validator:
    """A validator for one of the OpenAI schemas copied into tests/specs/."""
    return Draft202012Validator(json.loads((SPECS / f"openai_{name}.json").read_text()))


def load_case(path: Path) -> dict[str, str]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def openai_standin() -> Iterator[OpenAIStandIn]:
    standin = OpenAIStandIn()
    yield standin
    standin.stop()


@pytest.fixture
def llm_settings(tmp_path: Path, openai_standin: OpenAIStandIn) -> Settings:
    """LLM replies on, talking to the stand-in, with a short deadline for fast tests."""
    return make_settings(tmp_path, LLM_REPLIES="1", LLM_TIMEOUT="1", **openai_standin.overrides())
