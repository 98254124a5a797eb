"""Answers shown compactly: model answers often end in runs of blank lines or spaces, which pre-wrap keeps."""

import re

from django import template

from arena.results import checks_note

register = template.Library()

_BLANK_RUN = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


@register.filter
def tidy(text) -> str:
    """The text with trailing blanks on each line and runs of blank lines collapsed to one, trimmed at both ends."""
    if text is None:
        return ""
    lines = [line.rstrip() for line in str(text).splitlines()]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip()


@register.filter
def first_lines(text, count=3) -> str:
    """The first `count` non-blank lines of the text, each cut at 160 characters."""
    lines = _filled(text)[: int(count)]
    return "\n".join(line if len(line) <= 160 else line[:159] + "…" for line in lines)


@register.filter
def is_longer_than(text, count=3) -> bool:
    """Whether the text has more than `count` non-blank lines, or a line that first_lines cuts."""
    lines = _filled(text)
    return len(lines) > int(count) or any(len(line) > 160 for line in lines)


def _filled(text) -> list[str]:
    return [line for line in tidy(text).splitlines() if line]


@register.filter(name="checks_note")
def checks_note_filter(verdict) -> str:
    """results.checks_note for a template: why a 0% -> 0% pass rate says nothing."""
    return checks_note(verdict or {})
