"""Find secrets in text and redact them to `[REDACTED:kind]` markers.

Stages, each linear in the text:
1. one RE2 set of every rule's keywords says which rules can match at all (most text skips
   nearly all of them);
2. the triggered provider rules (ours first, then gitleaks'), then the keyword-context rules;
3. high-entropy strings next to a secret-ish word (bounded windows).
Overlapping findings are merged (the earlier rule names the kind); text already inside a
`[REDACTED:...]` marker is never touched, so scrubbing twice changes nothing.
"""

import functools
from collections import Counter
from dataclasses import dataclass

import re2

from curation.secrets import context, providers
from curation.secrets.rules import Rule, compile

MARKER = compile(r"\[REDACTED:[a-z0-9_]{1,60}\]")


@dataclass(frozen=True)
class Finding:
    """One secret: its kind and where it is (in the text it was found in). Never its value."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class Scrubbed:
    """Redacted text, and where its markers are (positions in the redacted text)."""

    text: str
    findings: tuple[Finding, ...]

    @property
    def counts(self) -> Counter:
        return Counter(finding.kind for finding in self.findings)


@functools.cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule in priority order (a rule earlier in the list names the kind of an overlap)."""
    return (*providers.OWN_RULES, *providers.gitleaks_rules(), *context.RULES, context.ASSIGNMENT)


@functools.cache
def _prefilter():
    """An RE2 set of every keyword -> the rules each keyword enables; rules without keywords always run."""
    keywords: dict[str, list[int]] = {}
    always = []
    for index, rule in enumerate(all_rules()):
        if not rule.keywords:
            always.append(index)
        for word in rule.keywords:
            keywords.setdefault(word, []).append(index)
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = 64 << 20
    keyword_set = re2.Set.SearchSet(options)
    words = list(keywords)
    for word in words:
        keyword_set.Add(re2.escape(word))
    for word in context.HIGH_ENTROPY_KEYWORDS:
        words.append(word)
        keyword_set.Add(re2.escape(word))
    keyword_set.Compile()
    return keyword_set, words, keywords, tuple(always)


def _triggered(text: str) -> tuple[list[Rule], bool]:
    keyword_set, words, rules_by_word, always = _prefilter()
    hits = keyword_set.Match(text) or []
    found = {words[index] for index in hits}
    indexes = set(always)
    for word in found:
        indexes.update(rules_by_word.get(word, ()))
    rules = all_rules()
    entropy = any(word in found for word in context.HIGH_ENTROPY_KEYWORDS)
    return [rules[index] for index in sorted(indexes)], entropy


def find_secrets(text: str) -> list[Finding]:
    """Every secret in `text`, merged and sorted by position."""
    if not text:
        return []
    rules, entropy = _triggered(text)
    if not rules and not entropy:
        return []
    raw: list[tuple[int, int, int, str]] = []  # (start, priority, end, kind)
    for priority, rule in enumerate(rules):
        if isinstance(rule, context.KindedRule):
            for kind, (start, end) in rule.find_kinded(text, context.kind_of_assignment):
                raw.append((start, priority, end, kind))
        else:
            for start, end in rule.find(text):
                raw.append((start, priority, end, rule.kind))
    if entropy:
        for start, end in context.find_high_entropy(text):
            raw.append((start, len(rules), end, "high_entropy"))
    if not raw:
        return []
    markers = [match.span() for match in MARKER.finditer(text)] if "[REDACTED:" in text else []
    return _merge(raw, markers)


def _merge(raw: list, markers: list[tuple[int, int]]) -> list[Finding]:
    merged: list[list] = []  # [start, end, kind, priority]
    marker = 0  # findings and markers are both sorted: one walk over each, never a nested loop
    for start, priority, end, kind in sorted(raw):
        while marker < len(markers) and markers[marker][1] <= start:
            marker += 1
        if marker < len(markers) and markers[marker][0] < end:
            continue  # overlaps an existing [REDACTED:...] marker
        if merged and start < merged[-1][1]:
            last = merged[-1]
            last[1] = max(last[1], end)
            if priority < last[3]:
                last[2], last[3] = kind, priority
            continue
        merged.append([start, end, kind, priority])
    return [Finding(kind, start, end) for start, end, kind, _ in merged]


def scrub(text: str) -> Scrubbed:
    """`text` with every secret replaced by `[REDACTED:kind]`, and the markers' positions."""
    findings = find_secrets(text)
    if not findings:
        return Scrubbed(text, ())
    parts, placed, cursor, shift = [], [], 0, 0
    for finding in findings:
        marker = f"[REDACTED:{finding.kind}]"
        parts.append(text[cursor:finding.start])
        parts.append(marker)
        start = finding.start + shift
        placed.append(Finding(finding.kind, start, start + len(marker)))
        shift += len(marker) - (finding.end - finding.start)
        cursor = finding.end
    parts.append(text[cursor:])
    return Scrubbed("".join(parts), tuple(placed))


def scrub_text(text: str) -> tuple[str, Counter]:
    """`text` redacted, and the count of secrets found per kind."""
    result = scrub(text)
    return result.text, result.counts


def marker_spans(text: str) -> list[Finding]:
    """The `[REDACTED:kind]` markers already in `text` (for highlighting stored text)."""
    if "[REDACTED:" not in text:
        return []
    return [Finding(match.group()[10:-1], *match.span()) for match in MARKER.finditer(text)]
