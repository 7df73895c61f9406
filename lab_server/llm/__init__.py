"""The LLM side of the kit: chat replies for the bots, per-network adaptation, images.

Everything goes through the official `openai` library, so OpenAI, Ollama, LM Studio,
llama.cpp and the classroom sandbox are all reached by the same code. The names below are
imported on first use (PEP 562): the webhook needs `chat` only, and `openai` and
`jsonschema` take seconds to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import exports

_EXPORTS = {
    "NETWORKS": "adaptation",
    "AdaptationError": "adaptation",
    "AdaptationInputError": "adaptation",
    "Adapter": "adaptation",
    "adapt": "adaptation",
    "ChatModel": "chat",
    "fit": "chat",
    "LLMError": "client",
    "ModelNotFoundError": "client",
    "available_models": "client",
    "make_client": "client",
    "GeneratedImage": "images",
    "ImageUploadError": "images",
    "generate_image": "images",
    "prompt_names": "prompts",
    "prompt_text": "prompts",
}

__all__ = [
    "AdaptationError",
    "AdaptationInputError",
    "Adapter",
    "ChatModel",
    "GeneratedImage",
    "ImageUploadError",
    "LLMError",
    "ModelNotFoundError",
    "NETWORKS",
    "adapt",
    "available_models",
    "fit",
    "generate_image",
    "make_client",
    "prompt_names",
    "prompt_text",
]

if TYPE_CHECKING:
    from .adaptation import NETWORKS, AdaptationError, AdaptationInputError, Adapter, adapt
    from .chat import ChatModel, fit
    from .client import LLMError, ModelNotFoundError, available_models, make_client
    from .images import GeneratedImage, ImageUploadError, generate_image
    from .prompts import prompt_names, prompt_text

__getattr__, __dir__ = exports(__name__, _EXPORTS)
