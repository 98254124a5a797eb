"""Provider rules: token shapes that give themselves away by their prefix or structure.

Two sources:
- our own rules for the credentials agents handle most (looser than gitleaks' on length, so
  a truncated or example-shaped key in prose is still caught);
- the provider rules of gitleaks (gitleaks.toml, vendored), with their keywords, entropy
  thresholds and allowlists. Its `generic-api-key` rule is left out: the keyword-context
  rules (context.py) do that job with better precision on prose.
"""

import functools
import tomllib
from pathlib import Path

from curation.secrets.context import is_django_secret_key, is_placeholder
from curation.secrets.rules import Rule, char_classes, compile, shannon_entropy

GITLEAKS_FILE = Path(__file__).with_name("gitleaks.toml")
# gitleaks rules whose job the context rules do better on prose (they key on common words).
GITLEAKS_SKIPPED = frozenset({"generic-api-key"})

# gitleaks rule id (or id prefix ending in "-") -> our marker kind; other ids become their own kind.
_KIND_BY_ID = {
    "openai-": "openai_key", "anthropic-": "anthropic_key", "huggingface-": "huggingface_token",
    "aws-access-token": "aws_access_key", "github-": "github_token", "gitlab-": "gitlab_token",
    "slack-": "slack_token", "stripe-": "stripe_key", "sendgrid-": "sendgrid_key",
    "telegram-": "telegram_bot_token", "npm-": "npm_token", "pypi-": "pypi_token",
    "gcp-api-key": "gcp_api_key", "private-key": "private_key", "jwt": "jwt",
    "curl-auth-header": "auth_header", "curl-auth-user": "password",
}


def gitleaks_kind(rule_id: str) -> str:
    for key, kind in _KIND_BY_ID.items():
        if rule_id == key or (key.endswith("-") and rule_id.startswith(key)):
            return kind
    return rule_id.replace("-", "_")


def _mixed(min_classes: int = 2, min_entropy: float = 0.0):
    """A check: the candidate mixes character classes (words with hyphens are not keys)."""
    def check(text: str, start: int, end: int):
        value = text[start:end]
        if char_classes(value) < min_classes or (min_entropy and shannon_entropy(value) < min_entropy):
            return None
        return start, end
    return check


def _webhook_token(text: str, start: int, end: int):
    """A webhook URL whose last segment (the token) is generated, not `your-webhook-token-here`."""
    token = text[start:end].rsplit("/", 1)[-1]
    if is_placeholder(token) or char_classes(token) < 3 or shannon_entropy(token) < 4.0:
        return None
    return start, end


def _own(kind: str, pattern: str, keywords: tuple[str, ...], **options) -> Rule:
    return Rule(name=f"own:{kind}", kind=kind, pattern=compile(pattern),
                keywords=keywords, **options)


OWN_RULES: list[Rule] = [
    # An unterminated block is redacted to the end: better too much than half a key.
    _own("private_key", r"(?s)-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
                        r"(?:.*?-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----|.*)", ("private key",)),
    _own("anthropic_key", r"\bsk-ant-[A-Za-z0-9]{2,12}-[A-Za-z0-9_-]{16,300}", ("sk-ant-",)),
    _own("openai_key", r"\bsk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_-]{20,300}", ("sk-",),
         check=lambda text, s, e: None if text.startswith("sk-ant-", s) else _mixed(3, 3.0)(text, s, e)),
    _own("huggingface_token", r"\b(?:hf|api_org)_[A-Za-z0-9]{30,60}\b", ("hf_", "api_org_"), check=_mixed(2, 3.0)),
    _own("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})",
         ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    _own("gitlab_token", r"\bgl(?:pat|dt|rt|ptt|cbt|imt|oas|soat|ft|agent)-[A-Za-z0-9_.-]{20,300}",
         ("glpat-", "gldt-", "glrt-", "glptt-", "glcbt-", "glimt-", "gloas-", "glsoat-", "glft-", "glagent-")),
    _own("slack_token", r"\bxox[abposer]-[A-Za-z0-9-]{10,300}|https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,200}",
         ("xox", "hooks.slack.com")),
    _own("stripe_key", r"\b(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{16,200}", ("_live_", "_test_", "_prod_")),
    _own("sendgrid_key", r"\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}", ("sg.",)),
    _own("telegram_bot_token", r"(?:^|[^0-9])([0-9]{6,12}:AA[A-Za-z0-9_-]{30,40})", (":aa",)),
    _own("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b", ("npm_",)),
    _own("pypi_token", r"\bpypi-AgE[A-Za-z0-9_-]{50,1000}", ("pypi-age",)),
    _own("docker_token", r"\bdckr_(?:pat|oat)_[A-Za-z0-9_-]{20,100}", ("dckr_",)),
    _own("aws_access_key", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b",
         ("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa", "abia", "acca", "a3t")),
    _own("aws_secret_key", r"(?i)aws_?secret_?access_?key[\"']?[ \t]{0,5}(?:[:=][ \t]{0,5}|[ \t])[\"']?"
                           r"(?P<secret>[A-Za-z0-9/+=]{40})\b", ("secret",), group="secret"),
    _own("gcp_api_key", r"\bAIza[0-9A-Za-z_-]{35}", ("aiza",)),
    _own("gcp_service_account", r"\"private_key_id\"\s{0,5}:\s{0,5}\"(?P<secret>[a-f0-9]{40})\"",
         ("private_key_id",), group="secret"),
    _own("azure_key", r"(?i)(?:AccountKey|SharedAccessKey|sig)=(?P<secret>[A-Za-z0-9+/%]{30,300}={0,2})",
         ("accountkey", "sharedaccesskey", "sig="), group="secret"),
    _own("jwt", r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}", ("eyj",)),
    _own("academy_token", r"\baca_[A-Za-z0-9_-]{16,200}", ("aca_",)),
    # Django's startproject key: "insecure" is in its name, the random tail is a real secret.
    _own("django_secret_key", r"\bdjango-insecure-[A-Za-z0-9!@#$%^&*(\-_=+)]{30,100}", ("django-insecure-",),
         check=lambda text, s, e: (s, e) if is_django_secret_key(text[s:e]) else None),
    _own("discord_webhook", r"\bhttps?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api(?:/v[0-9]{1,2})?/webhooks/"
                            r"[0-9]{15,25}/[A-Za-z0-9_-]{40,120}", ("discord",), check=_webhook_token),
]


# ---------------------------------------------------------------------------- gitleaks
@functools.cache
def gitleaks_config() -> dict:
    with GITLEAKS_FILE.open("rb") as handle:
        return tomllib.load(handle)


@functools.cache
def gitleaks_rules(*, skipped: frozenset = GITLEAKS_SKIPPED, placeholders: bool = True) -> list[Rule]:
    """gitleaks' rules (those with a regex) as Rules, allowlists included.

    placeholders=False keeps gitleaks' own judgement (the benchmark's baseline); by default
    values such as `your-api-key` or `$TOKEN` are not reported either.
    """
    config = gitleaks_config()
    global_allow = _Allowlist.from_config(config.get("allowlist", {}))
    rules = []
    for spec in config["rules"]:
        # Rules bound to a file type (.tf, .php, nuget.config...) need a path; our text has none.
        if "regex" not in spec or "path" in spec or spec["id"] in skipped:
            continue
        allowlists = [global_allow] + [_Allowlist.from_config(item) for item in spec.get("allowlists", [])]
        rules.append(Rule(
            name=f"gitleaks:{spec['id']}", kind=gitleaks_kind(spec["id"]), pattern=compile(spec["regex"]),
            keywords=tuple(word.lower() for word in spec.get("keywords", [])),
            group=spec.get("secretGroup") or None, min_entropy=float(spec.get("entropy", 0.0)),
            check=_allowlist_check(allowlists, placeholders)))
    return rules


class _Allowlist:
    """One gitleaks allowlist: regexes on the secret, the match or the line, and stop words."""

    def __init__(self, regexes, target: str, stopwords, condition: str):
        self.regexes = [compile(pattern) for pattern in regexes]
        self.target = target
        self.stopwords = tuple(word.lower() for word in stopwords)
        self.condition = condition

    @classmethod
    def from_config(cls, item: dict) -> "_Allowlist":
        return cls(item.get("regexes", []), item.get("regexTarget", "secret"), item.get("stopwords", []),
                   item.get("condition", "OR").upper())

    def allows(self, text: str, start: int, end: int) -> bool:
        checks = []
        if self.regexes:
            target = self._target(text, start, end)
            checks.append(any(pattern.search(target) for pattern in self.regexes))
        if self.stopwords:
            secret = text[start:end].lower()
            checks.append(any(word in secret for word in self.stopwords))
        if not checks:
            return False
        return all(checks) if self.condition == "AND" else any(checks)

    def _target(self, text: str, start: int, end: int) -> str:
        if self.target == "line":
            line_start = text.rfind("\n", max(0, start - 2000), start) + 1
            line_end = text.find("\n", end, end + 2000)
            return text[line_start:line_end if line_end >= 0 else min(len(text), end + 2000)]
        return text[start:end]  # "match" is approximated by the secret: we keep no match object here


def _allowlist_check(allowlists: list[_Allowlist], placeholders: bool):
    def check(text: str, start: int, end: int):
        if placeholders and is_placeholder(text[start:end]):
            return None
        if any(allow.allows(text, start, end) for allow in allowlists):
            return None
        return start, end
    return check
