"""{% load numbers %}: numbers as people read them."""

from django import template

register = template.Library()


@register.filter
def metric(value, digits: int = 4):
    """A float rounded for reading (0.123456789012345 -> 0.1235, 1234.5678 -> 1234.568); others as they are."""
    if isinstance(value, bool) or not isinstance(value, float):
        return value
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    text = f"{value:.{int(digits)}g}" if abs(value) < 1 else f"{value:.{max(int(digits) - 1, 0)}f}"
    return text


@register.filter
def percent(fraction) -> int:
    """0..1 as a whole percentage, rounded down (99.6 % is not yet 100 %): the same number on every page."""
    try:
        return max(0, min(100, int(float(fraction or 0) * 100)))
    except (TypeError, ValueError):
        return 0
