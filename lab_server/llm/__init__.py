"""The LLM side of the kit: chat replies for the bots, per-network adaptation, images.

Everything goes through the official `openai` library, so OpenAI, Ollama, LM Studio,
llama.cpp and the classroom sandbox are all reached by the same code.
"""

from .adapt import NETWORKS, AdaptationError, AdaptationInputError, Adapter, adapt
from .chat import ChatModel, fit
from .client import LLMError, ModelNotFoundError, available_models, make_client
from .images import GeneratedImage, ImageUploadError, generate_image
from .prompts import prompt_names, prompt_text

__all__ = [
    "NETWORKS",
    "AdaptationError",
    "AdaptationInputError",
    "Adapter",
    "ChatModel",
    "GeneratedImage",
    "ImageUploadError",
    "LLMError",
    "ModelNotFoundError",
    "adapt",
    "available_models",
    "fit",
    "generate_image",
    "make_client",
    "prompt_names",
    "prompt_text",
]
