"""What a detection rule is, and the small helpers rules share.

Every pattern is compiled by RE2 (`compile` below), which runs in time linear in the text
whatever the pattern: no rule, whoever writes it, can make scrubbing quadratic. RE2 has no
lookaround or backreferences; what a rule cannot say in the pattern it says in `check`.
"""

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import re2

# Longer matches (a private key block) are redacted without the per-match checks, which bounds their cost.
MAX_SECRET_CHARS = 4096
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 64 << 20  # big alternations (the gitleaks rules) need more than the 8 MB default


def compile(pattern: str):
    """The one way a scrubbing pattern is compiled (RE2: linear time, no backtracking)."""
    return re2.compile(pattern, _OPTIONS)


# check(text, start, end) -> the (start, end) to redact, or None when the candidate is not a secret.
Check = Callable[[str, int, int], tuple[int, int] | None]


@dataclass(frozen=True)
class Rule:
    """A pattern for one kind of secret.

    `keywords` are lower-case literals at least one of which every match contains; a text
    without any of them skips the rule (the cheap prefilter). `group` names the part of the
    match that is the secret (None: the first group that matched, else the whole match).
    """

    name: str
    kind: str
    pattern: object
    keywords: tuple[str, ...] = ()
    group: str | int | None = None
    min_entropy: float = 0.0
    check: Check | None = None

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        for match in self.pattern.finditer(text):
            span = self._secret_span(match)
            if span is None:
                continue
            start, end = span
            if end - start > MAX_SECRET_CHARS:  # a whole key block: no need (and no time) to weigh it
                yield span
                continue
            if self.min_entropy and shannon_entropy(text[start:end]) < self.min_entropy:
                continue
            if self.check is not None:
                span = self.check(text, start, end)
                if span is None:
                    continue
            yield span

    def _secret_span(self, match) -> tuple[int, int] | None:
        if self.group is not None:
            start, end = group_span(match, self.group)
            return (start, end) if start >= 0 and end > start else None
        for index in range(1, (match.re.groups or 0) + 1):
            start, end = match.span(index)
            if start >= 0 and end > start:
                return start, end
        start, end = match.span()
        return (start, end) if end > start else None


def group_span(match, group: str | int) -> tuple[int, int]:
    """A group's span by name or number (RE2's match.span takes numbers only); (-1, -1) if unset."""
    if isinstance(group, str):
        group = match.re.groupindex[group]
    return match.span(group)


def shannon_entropy(value: str) -> float:
    """Bits per character of `value` (gitleaks and detect-secrets use the same measure)."""
    if not value:
        return 0.0
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in Counter(value).values())


def char_classes(value: str) -> int:
    """How many of lower case, upper case and digits `value` mixes."""
    return (any(c.islower() for c in value) + any(c.isupper() for c in value)
            + any(c.isdigit() for c in value))
