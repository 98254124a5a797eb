"""{{ run.base_model|base_model_name }}: how pages name a base model (its display name, never a host path)."""

from django import template

from training import model_store

register = template.Library()


@register.filter
def base_model_name(base_model: str) -> str:
    return model_store.display_name(base_model or "")
