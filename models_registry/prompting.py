"""Prompt rendering for the registry: the one prompt module, re-exported.

Every path renders through training.trainer.prompts.render_prompt (the trainer, the
built-in serving, the Arena); the Ollama TEMPLATE is derived from it in
models_registry.ollama_template.
"""

from models_registry.ollama_template import OllamaTemplateError, ollama_template
from training.trainer.prompts import PromptError, render_prompt, stop_sequences

__all__ = ["OllamaTemplateError", "PromptError", "ollama_template", "render_prompt", "stop_sequences"]
