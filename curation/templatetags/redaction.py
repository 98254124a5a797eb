"""`{{ text|redacted }}`: the text escaped, with each `[REDACTED:kind]` marker highlighted."""

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from curation.secrets import marker_spans

register = template.Library()


@register.filter
def redacted(value) -> str:
    text = "" if value is None else str(value)
    spans = marker_spans(text)
    if not spans:
        return escape(text)
    parts, cursor = [], 0
    for span in spans:
        parts.append(escape(text[cursor:span.start]))
        parts.append(f'<mark class="redacted" data-kind="{escape(span.kind)}" '
                     f'title="a {escape(span.kind)} was removed here">{escape(text[span.start:span.end])}</mark>')
        cursor = span.end
    parts.append(escape(text[cursor:]))
    return mark_safe("".join(parts))  # every piece above is escaped
