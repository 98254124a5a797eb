"""`{{ text|redacted }}`: the text escaped, with each `[REDACTED:kind]` marker highlighted.

`{{ text|redacted:90 }}` also shortens it to at most 90 characters (ending in "…") for list
entries, never cutting a marker in half: a marker that would not fit is left out whole.
"""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from curation.secrets import marker_spans

register = template.Library()
ELLIPSIS = "…"


@register.filter
def redacted(value, length=None) -> str:
    text = "" if value is None else str(value)
    spans = marker_spans(text)
    if length is not None and len(text) > int(length):
        cut = max(int(length) - len(ELLIPSIS), 0)
        # A marker the cut falls inside goes whole: the cut moves to where it starts.
        cut = next((span.start for span in spans if span.start < cut < span.end), cut)
        text = text[:cut] + ELLIPSIS
        spans = [span for span in spans if span.end <= cut]
    if not spans:
        return escape(text)
    # Escape first, piece by piece, then wrap the markers: nothing in the text itself is ever markup.
    parts, cursor = [], 0
    for span in spans:
        parts.append(escape(text[cursor:span.start]))
        parts.append(f'<mark class="redacted" data-kind="{escape(span.kind)}" '
                     f'title="a {escape(span.kind)} was removed here">{escape(text[span.start:span.end])}</mark>')
        cursor = span.end
    parts.append(escape(text[cursor:]))
    return mark_safe("".join(parts))  # every piece above is escaped
