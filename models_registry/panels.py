"""Hooks through which a higher app adds a section to the version and compare pages.

The registry never imports the Arena; the Arena's AppConfig.ready() appends a callable
here, and the registry's views render whatever HTML the callables return.
"""

from collections.abc import Callable

from django.utils.safestring import mark_safe

# f(request, version) -> HTML
version_panels: list[Callable] = []
# f(request, a, b) -> HTML
compare_panels: list[Callable] = []


def render(panels: list[Callable], *args) -> list[str]:
    return [mark_safe(html) for html in (panel(*args) for panel in list(panels)) if html]
