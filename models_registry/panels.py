"""Hooks through which a higher app adds a section to the version and compare pages.

The registry never imports the Arena; the Arena's AppConfig.ready() appends a callable
here, and the registry's views render them with jobs.panels.render_panels.
"""

from collections.abc import Callable

# f(request, version) -> HTML
version_panels: list[Callable] = []
# f(request, a, b) -> HTML
compare_panels: list[Callable] = []
