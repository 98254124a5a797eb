"""Page panels: the one renderer of the sections that higher apps add to a lower app's page.

A lower app keeps a plain list of panel callables (the registry's version and compare pages,
training's pages) or asks each app config (the Overview); a higher app appends to it from its
AppConfig.ready(). A panel returns HTML from its own autoescaping template, or nothing to show.
A failing panel is logged and left out, so one broken section never takes its page down.
"""

import logging
from collections.abc import Callable, Iterable

from django.utils.safestring import mark_safe

logger = logging.getLogger(__name__)


def render_panels(panels: Iterable[Callable], *args) -> list:
    """The HTML of every panel that has something to show, in order; a failing one is logged and left out."""
    shown = []
    for panel in list(panels):
        try:
            html = panel(*args)
        except Exception:
            logger.exception("page panel %r failed", panel)
            continue
        if html:
            shown.append(mark_safe(html))  # rendered by the panel's own (autoescaping) template
    return shown
