"""Stage 2: find secrets and redact them (or drop the example) before anything is written.

Each rule is (kind, pattern); when a pattern has a group named "secret" only that group is
replaced, so the surrounding key name stays readable ("password = [REDACTED:password]").
Order matters: whole blocks and well-known token shapes go first, generic assignments last.
"""

import re
from collections import Counter

_NOT_REDACTED = r"(?!\[REDACTED)"
_SECRET_WORDS = r"(?:SECRET|TOKEN|PASSWORD|PASSWD|PWD|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?|AUTH)"

RULES: list[tuple[str, re.Pattern]] = [
    # An unterminated block is redacted to the end: better too much than a half key.
    ("private_key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|.*)", re.S)),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b")),
    ("aws_secret_key", re.compile(
        r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?(?P<secret>" + _NOT_REDACTED + r"[A-Za-z0-9/+=]{40})")),
    ("gcp_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    ("gcp_service_account", re.compile(r"\"private_key_id\"\s*:\s*\"(?P<secret>[a-f0-9]{40})\"")),
    ("azure_key", re.compile(
        r"(?i)(?:AccountKey|SharedAccessKey|sig)=(?P<secret>" + _NOT_REDACTED + r"[A-Za-z0-9+/%]{30,}={0,2})")),
    ("github_token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})")),
    ("gitlab_token", re.compile(r"\bgl(?:pat|dt|rt|ptt)-[A-Za-z0-9_\-]{20,}")),
    ("slack_token", re.compile(
        r"\bxox[abposer]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}")),
    ("stripe_key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")),
    ("academy_token", re.compile(r"\baca_[A-Za-z0-9_\-]{16,}")),
    ("url_password", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:(?P<secret>" + _NOT_REDACTED + r"[^\s@/]+)@")),
    # .env lines: KEY=value where the key looks secret ("+"/"-" allow diff lines).
    ("env_secret", re.compile(
        r"(?m)^[+\- ]{0,2}\s*(?:export\s+)?[A-Z0-9_]*" + _SECRET_WORDS + r"[A-Z0-9_]*\s*=\s*[\"']?(?P<secret>"
        + _NOT_REDACTED + r"[^\s\"'#]{3,})")),
    # Assignments in code and config: password = "x", "passwd": "x", pwd: x ...
    ("password", re.compile(
        r"(?i)[\"']?\b(?:password|passwd|pwd|secret|client_secret|api_key|apikey|auth_token)[\"']?\s*(?:=|:)\s*"
        r"(?:[\"'](?P<secret>" + _NOT_REDACTED + r"[^\"'\n]{3,})[\"']|(?P<bare>" + _NOT_REDACTED
        + r"[^\s\"'(),;{}\[\]]{3,})(?![\w(.]))")),
]


def _replace(kind: str, found: Counter):
    def replace(match: re.Match) -> str:
        found[kind] += 1
        group = "secret" if match.groupdict().get("secret") is not None else (
            "bare" if match.groupdict().get("bare") is not None else 0)
        start, end = match.span(group)
        base = match.start()
        text = match.group(0)
        return text[:start - base] + f"[REDACTED:{kind}]" + text[end - base:]

    return replace


# Lower-case literals at least one of which every match of a rule contains. Checking them with
# `in` first skips most regex scans: scrubbing 100k examples is otherwise the slowest stage.
TRIGGERS: dict[str, tuple[str, ...]] = {
    "private_key": ("private key",),
    "aws_access_key": ("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa"),
    "aws_secret_key": ("secret",),
    "gcp_api_key": ("aiza",),
    "gcp_service_account": ("private_key_id",),
    "azure_key": ("accountkey", "sharedaccesskey", "sig="),
    "github_token": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    "gitlab_token": ("glpat-", "gldt-", "glrt-", "glptt-"),
    "slack_token": ("xox", "hooks.slack.com"),
    "stripe_key": ("_live_", "_test_"),
    "jwt": ("eyj",),
    "academy_token": ("aca_",),
    "url_password": ("://",),
    "env_secret": ("secret", "token", "password", "passwd", "pwd", "api_key", "apikey", "private_key",
                   "privatekey", "access_key", "accesskey", "credential", "auth"),
    "password": ("password", "passwd", "pwd", "secret", "api_key", "apikey", "auth_token"),
}


def scrub_text(text: str) -> tuple[str, Counter]:
    """Return `text` with every secret redacted, and the count of secrets found per kind."""
    found: Counter = Counter()
    if not text:
        return text, found
    lowered = text.lower()
    for kind, pattern in RULES:
        if any(trigger in lowered for trigger in TRIGGERS[kind]):
            text = pattern.sub(_replace(kind, found), text)
    return text, found


def scrub_example(example) -> Counter:
    """Redact secrets in every text field of `example` in place; return counts per kind."""
    total: Counter = Counter()

    def scrub(text: str) -> str:
        clean, found = scrub_text(text)
        total.update(found)
        return clean

    example.map_text(scrub)
    return total
