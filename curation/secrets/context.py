"""Keyword-context rules: a value is a secret because of the word or flag in front of it.

They cover assignments in code, JSON, YAML and .env lines (also mid-sentence), shell flags
(`--password x`, `mysql -px`, `curl -u user:pass`, `aws configure set ... x`), HTTP
authorization headers, credentials in URLs, plain prose ("the admin password is x"), and
high-entropy strings next to a secret-ish word. Precision comes from the checks: the key
must really name a secret (`max_tokens`, `token_bucket`, `password_reset` do not), and the
value must not be code, a placeholder, a type, an ordinary word, a hash or a UUID.
"""

import string

from curation.secrets.rules import Rule, char_classes, compile, group_span, shannon_entropy

# ---------------------------------------------------------------------------- keys
# A key naming one of these is about a secret, not the secret itself (max_tokens, token_ttl).
_QUALIFIERS = frozenset("""
    count counts len length limit limits max min num number size ttl expiry expires expiration expired timeout
    type types name names file files path paths dir url urls uri endpoint id ids bucket buckets budget field
    fields header headers prefix env var vars format kind policy policies reset required enabled regex pattern
    mode class cache store label placeholder help message error errors tokens tokenizer tokenize rotation
    strength hint validators validator validation hasher hashers input widget form rule rules salt_rounds
    usage used manager provider generator factory backend backends scheme hash_algorithm changed forgot
    lifetime age duration interval refresh_interval flow view views template login_url sha uuid digest
    authored author authors authority authorize authorized authorization authenticate authenticated
    authentication public publishable findings found kinds bos eos pad unk cls sep mask special add
    startswith endswith contains icontains exact iexact isnull regex iregex
    rate rates ratio score scores percent percentage threshold
""".split())
_PASS_WORDS = ("password", "passwd", "passphrase")
_EXACT_PASS = frozenset({"pass", "pwd", "pw", "psw", "passcode", "pin"})
_SECRET_EXACT = frozenset({"secret", "secrets", "token", "apikey", "accesskey", "privatekey", "authkey",
                           "authtoken", "credential", "credentials", "creds", "auth", "pat", "dsn"})
_KEY_PREFIXES = frozenset({"api", "access", "private", "secret", "signing", "encryption", "master", "client",
                           "app", "service", "account", "license", "auth", "session", "shared", "webhook",
                           "deploy", "admin", "root", "ssh", "storage"})


def _split_words(key: str) -> list[str]:
    """snake_case, kebab-case, dotted and camelCase names -> lower-case words (keys are short)."""
    words, current = [], ""
    for index, char in enumerate(key):
        if not char.isalnum():
            if current:
                words.append(current)
            current = ""
            continue
        if current and char.isupper() and (key[index - 1].islower() or key[index - 1].isdigit()):
            words.append(current)
            current = ""
        current += char
    if current:
        words.append(current)
    return [word.lower() for word in words]


def secret_key_kind(key: str) -> str | None:
    """"password" or "secret" when `key` names a credential, else None."""
    words = _split_words(key)
    if not words or any(word in _QUALIFIERS for word in words):
        return None
    if any(word in _EXACT_PASS or any(p in word for p in _PASS_WORDS) for word in words):
        return "password"
    for index, word in enumerate(words):
        if word in _SECRET_EXACT or "secret" in word or (word.endswith("token") and len(word) <= 20):
            return "secret"
        if word.endswith("apikey") or word.endswith("accesskey"):
            return "secret"
        if word == "key" and index > 0 and words[index - 1] in _KEY_PREFIXES:
            return "secret"
    return None


# ---------------------------------------------------------------------------- values
_STOP_VALUES = frozenset("""
    the a an is was are be been to in of for and or not no none null nil true false yes on off undefined empty
    required optional missing invalid valid wrong incorrect expired rotated reset changed stored hashed
    encrypted set unset see below above here there this that it its which what who where how when your my our
    their his her same different also only still now always never too very fine ok okay good bad weak strong
    secure insecure long short new old correct str string int bytes bool boolean float dict list any object
    optional[str] secretstr text char varchar password passwd secret token key value values basic bearer
    oauth jwt session cookie header headers env environment default defaults auto example sample test dummy
    placeholder redacted hidden masked needed used given shown printed logged sent passed generated random
    provided configured supplied unknown blank nothing something anything via from with by at as if then else
    generic custom static dynamic local remote admin root user username changeme? todo tbd xxx yyy
    prompt stdin file</dev/null await async lambda yield return self cls this function def new same-origin
    include omit redact quarantine drop neither either both
""".split())
_PLACEHOLDER_START = ("$", "%", "{{", "${", "<", "@", "[REDACTED", "os.", "env.", "process.env", "settings.",
                      "config.", "vault:", "secret:", "!", "&", "*", "(", "#")
_SECRET_NAMES = frozenset({"password", "passwd", "pass", "pwd", "secret", "token", "key", "apikey", "api_key"})
# Words that make a value a stand-in when they are one of its tokens (your-api-key, YOUR_TOKEN_HERE,
# fake-token, dev-only-secret), never as a part of a word: Sphere$Moon42, Everywhere#2024 are passwords.
_PLACEHOLDER_WORDS = frozenset({"your", "here", "example", "placeholder", "insecure", "dummy", "fake", "changeme"})
# "only" marks a stand-in after another word (test-only, dev-only), not at the start (Only4Me!).
_PLACEHOLDER_AFTER = frozenset({"only"})
_DJANGO_INSECURE = "django-insecure-"
_TRAILING = ".,;:)]}>"
_IDENT = string.ascii_letters + string.digits + "_"


def value_tokens(value: str) -> list[str]:
    """`value` cut into lower-case tokens: at every non-alphanumeric, at lower-to-upper case
    changes and between letters and digits (YOUR_API_KEY, yourApiKey -> your, api, key)."""
    tokens, current, previous = [], "", ""
    for char in value:
        if not char.isalnum():
            if current:
                tokens.append(current)
            current = previous = ""
            continue
        if current and ((char.isupper() and previous.islower()) or (char.isdigit() != previous.isdigit())):
            tokens.append(current)
            current = ""
        current += char
        previous = char
    if current:
        tokens.append(current)
    return [token.lower() for token in tokens]


def is_placeholder(value: str) -> bool:
    """A value that stands for a secret without being one: $VAR, {{ x }}, <token>, your-api-key, xxxx."""
    lowered = value.lower()
    if lowered in _STOP_VALUES or lowered.startswith(_PLACEHOLDER_START):
        return True
    if len(set(lowered)) <= 2:  # xxxx, ****, ...., aaaa
        return True
    if lowered.startswith(_DJANGO_INSECURE) and is_django_secret_key(value):
        return False  # "insecure" is part of the name Django gives every generated key
    tokens = value_tokens(value)
    if any(token in _PLACEHOLDER_WORDS for token in tokens):
        return True
    if any(token in _PLACEHOLDER_AFTER for token in tokens[1:]):
        return True
    return lowered.startswith("<") and lowered.endswith(">")


def is_django_secret_key(value: str) -> bool:
    """`django-insecure-` and a generated tail (startproject draws 50 characters from 50 symbols),
    not `django-insecure-change-me-in-production`."""
    tail = value[len(_DJANGO_INSECURE):]
    # Words joined by hyphens stay under 4 bits per character and hold few digits or symbols.
    others = sum(1 for char in tail if not (char.isalpha() or char == "-"))
    return len(tail) >= 30 and shannon_entropy(tail) >= 4.0 and others >= 5


def _is_code(value: str, text: str, end: int) -> bool:
    """A bare value that is an expression: a call, an attribute path, a subscript or a type."""
    nxt = text[end:end + 1]
    if nxt in ("(", "[") and value[-1:] in _IDENT:
        return True
    # obj.attr is code; a full stop that ends the sentence ("... is Xy7#kLm2q.") is not.
    after = text[end + 1:end + 2]
    if nxt == "." and value[-1:] in _IDENT and after and after in _IDENT:
        return True
    parts = value.split(".")
    if len(parts) > 1 and all(part and part[0].isalpha() and all(c in _IDENT for c in part) for part in parts):
        return True
    return False


def _is_plain_word(value: str) -> bool:
    """An ordinary lower-case word or identifier: "reset", "rotated", "user_password", "pwd"."""
    if not value.isascii() or not all(c in _IDENT for c in value) or any(c.isdigit() for c in value):
        return False
    if not value.islower():
        return False
    return "_" in value or value.endswith(("ed", "ing", "ly", "able", "tion")) or secret_key_kind(value) is not None


def _separator(match) -> str:
    return match.group("sep") if "sep" in match.re.groupindex else ""


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1] in _TRAILING:
        end -= 1
    return start, end


def _value_span(match, text: str, *, strict: bool = False, min_len: int = 4) -> tuple[int, int] | None:
    """The span of the value groups (dq, sq, bq, bare) when it looks like a real credential."""
    for group in ("dq", "sq", "bq", "bare"):
        if group not in match.re.groupindex:
            continue
        start, end = group_span(match, group)
        if start < 0 or end <= start:
            continue
        bare = group == "bare"
        if bare:
            start, end = _strip(text, start, end)
        value = text[start:end]
        if len(value) < min_len or is_placeholder(value):
            return None
        if _is_plain_word(value) or (bare and _is_code(value, text, end)):
            return None
        if bare and value.isalpha() and _separator(match) == ":":
            return None  # "token: str", "credentials: see the vault", YAML words
        if bare and value.isdigit() and len(value) < 6:
            return None
        if strict and not looks_like_credential(value):
            return None
        return start, end
    return None


def looks_like_credential(value: str) -> bool:
    """A token that mixes letters and digits, or character classes, the way generated secrets do."""
    if len(value) < 6:
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    has_symbol = any(not c.isalnum() for c in value)
    return (has_digit and has_alpha) or char_classes(value) >= 3 or (has_alpha and has_symbol and len(value) >= 8)


_HEX = frozenset(string.hexdigits)


def _word_coverage(value: str) -> float:
    """Share of `value` in word-like runs: an optional capital and 3+ lower-case letters, or 3+ capitals."""
    covered, index, size = 0, 0, len(value)
    while index < size:
        start = index
        if value[index].isupper():
            index += 1
            while index < size and value[index].isupper():
                index += 1
            if index - start >= 3 and (index == size or not value[index].islower()):
                covered += index - start
                continue
            if index - start > 1:  # "ABCdef": the last capital starts the next word
                index -= 1
                start = index
                index += 1
        lower = index
        while index < size and value[index].islower():
            index += 1
        if index - lower >= 3:
            covered += index - start
        elif index == start:
            index += 1
    return covered / size if size else 0.0


def looks_random(value: str) -> bool:
    """High entropy, not a hash (hex), not a UUID, not a path or a dotted/snake identifier."""
    if len(value) < 16 or all(c in _HEX or c == "-" for c in value):
        return False
    if "/" in value and ("." in value or any(part.isalpha() and part.islower() for part in value.split("/"))):
        return False  # a path or URL, not base64
    tail = value.replace("_", "-").replace(":", "-").rsplit("-", 1)[-1]
    if len(tail) >= 0.7 * len(value) and all(c in _HEX for c in tail):
        return False  # a hash with a short prefix: em-d60db3b2..., sha1-...
    if _word_coverage(value) >= 0.5:
        return False  # GIT_TERMINAL_PROMPT=0, PBKDF2PasswordHasher, token_bucket_refill: names, not keys
    classes = char_classes(value)
    entropy = shannon_entropy(value)
    return (classes == 3 and entropy >= 3.0) or (classes == 2 and any(c.isdigit() for c in value)
                                                 and entropy >= 3.5)


# ---------------------------------------------------------------------------- rules
_SECRET_HINT = r"(?:pass|pwd|pw|psw|pin|secret|token|key|auth|cred|dsn|pat)"
_QUOTED_OR_BARE = (r"(?:\"(?P<dq>[^\"\n]{1,300})\"|'(?P<sq>[^'\n]{1,300})'|`(?P<bq>[^`\n]{1,300})`"
                   r"|(?P<bare>[^\s\"'`,;(){}\[\]<>]{1,300}))")


class MatchRule(Rule):
    """A rule whose check needs the whole match (key and value groups)."""

    def find(self, text: str):
        for match in self.pattern.finditer(text):
            span = self.check(text, match)
            if span is not None and span[1] > span[0]:
                yield span


def _assignment_check(text: str, match):
    key = match.group("key")
    if secret_key_kind(key) is None:
        return None
    return _value_span(match, text)


def kind_of_assignment(text: str, match) -> str:
    key, sep = match.group("key"), match.group("sep")
    if sep == "=" and key.isupper() and "_" in key:
        return "env_secret"
    return secret_key_kind(key) or "secret"


class KindedRule(MatchRule):
    """A MatchRule whose kind depends on the match (password, env_secret, secret)."""

    def find_kinded(self, text: str, kind_of):
        for match in self.pattern.finditer(text):
            span = self.check(text, match)
            if span is not None and span[1] > span[0]:
                yield kind_of(text, match), span


def _flag_check(text: str, match):
    value = _value_span(match, text)
    if value is None or text[value[0]] == "-":
        return None
    return value


def _plain_value_check(text: str, match):
    return _value_span(match, text, min_len=1)


def _prose_check(text: str, match):
    span = _value_span(match, text, min_len=4)
    if span is None:
        return None
    value, after = text[span[0]:span[1]], text[span[1]:span[1] + 2]
    # "the token is neither revoked nor expired": a plain word followed by more words is prose.
    if value.isalpha() and after[:1] == " " and after[1:2].isalpha():
        return None
    return span


def _strict_check(text: str, match):
    return _value_span(match, text, strict=True)


def _url_check(text: str, match):
    start, end = group_span(match, "secret")
    value = text[start:end]
    if is_placeholder(value) or value.lower() in _SECRET_NAMES:  # scheme://user:password@host
        return None
    return start, end


def _bearer_check(text: str, match):
    start, end = _strip(text, *group_span(match, "secret"))
    value = text[start:end]
    if is_placeholder(value) or not (looks_like_credential(value) or looks_random(value)):
        return None
    return start, end


def _header_check(text: str, match):
    start, end = _strip(text, *group_span(match, "secret"))
    value = text[start:end]
    if len(value) < 8 or is_placeholder(value) or not (looks_like_credential(value) or looks_random(value)):
        return None
    return start, end


# Longer verbs first: RE2 prefers the earlier alternative, and "is" alone would stop at "now".
_VERB = (r"(?:(?:is |was |has been )?(?:changed|reset|updated|set) to|is now|was now|is|was|are|were|became|reads"
         r"|equals)")


def _rule(kind: str, pattern: str, keywords: tuple[str, ...], check, cls=MatchRule) -> Rule:
    return cls(name=f"context:{kind}:{keywords[0]}", kind=kind, pattern=compile(pattern), keywords=keywords,
               check=check)


ASSIGNMENT = _rule(
    "assignment",
    r"(?i)(?P<key>[A-Za-z0-9_.-]{0,40}" + _SECRET_HINT + r"[A-Za-z0-9_.-]{0,30})[\"']?[ \t]{0,5}"
    r"(?P<sep>:=|=>|=|:)[ \t]{0,5}" + _QUOTED_OR_BARE,
    ("pass", "pwd", "pw", "psw", "pin", "secret", "token", "key", "auth", "cred", "dsn", "pat"), _assignment_check,
    cls=KindedRule)

RULES: list[Rule] = [
    _rule("password", r"(?:^|[\s\"'(])--?(?P<flag>(?i:password|passwd|pass|pwd|db-password|key-password|storepass|"
                      r"keypass|passphrase))(?:=|[ \t]{1,5})" + _QUOTED_OR_BARE,
          ("-pass", "-pwd", "-db-password", "-key-password", "-storepass", "-keypass"), _flag_check),
    _rule("secret", r"(?:^|[\s\"'(])--?(?i:token|api-key|apikey|api_key|secret|client-secret|auth-token|"
                    r"access-token|secret-key|access-key|private-key|bot-token)(?:=|[ \t]{1,5})" + _QUOTED_OR_BARE,
          ("-token", "-api-key", "-apikey", "-api_key", "-secret", "-client-secret", "-auth-token",
           "-access-token", "-secret-key", "-access-key", "-private-key", "-bot-token"), _flag_check),
    _rule("password", r"(?i)\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mariadb|"
                      r"mariadb-dump)\b[^\n]{0,300}?[ \t](?-i:-p)" + _QUOTED_OR_BARE,
          ("mysql", "mariadb"), _plain_value_check),
    _rule("password", r"\bsshpass[ \t]+-p[ \t]*" + _QUOTED_OR_BARE, ("sshpass",), _plain_value_check),
    _rule("password", r"\b(?:docker|podman|nerdctl|buildah|skopeo|helm(?:[ \t]+registry)?)[ \t]+login\b[^\n]{0,200}?"
                      r"[ \t]-p[ \t]+" + _QUOTED_OR_BARE, ("login",), _flag_check),
    _rule("password", r"\bredis-cli\b[^\n]{0,200}?[ \t](?:-a|--pass)[ \t]+" + _QUOTED_OR_BARE, ("redis-cli",),
          _flag_check),
    _rule("password", r"(?:^|[\s\"'(])(?:-u|--user)(?:=|[ \t]{1,5})[\"']?[^\s:\"'/]{1,100}:"
                      r"(?P<bare>[^\s\"'@]{1,200})", ("-u", "--user"), _plain_value_check),
    _rule("aws_secret_key", r"(?i)\bconfigure[ \t]+set[ \t]+[A-Za-z0-9_.]*(?:secret|token|password)[A-Za-z0-9_.]*"
                            r"[ \t]+" + _QUOTED_OR_BARE, ("configure",), _strict_check),
    _rule("auth_header", r"(?i)\b(?:proxy-)?authorization[\"']?[ \t]{0,5}[:=][ \t]{0,5}[\"']?(?:(?:bearer|basic|token|"
                         r"bot|digest|apikey|sso-key|key|negotiate)[ \t]{1,5})?(?P<secret>[A-Za-z0-9._~+/=:-]{1,1000})",
          ("authorization",), _header_check),
    _rule("auth_header", r"(?i)\bbearer(?:[ \t]+token)?[ \t]{1,5}(?P<secret>[A-Za-z0-9._~+/=-]{12,1000})", ("bearer",),
          _bearer_check),
    _rule("url_password", r"\b[A-Za-z][A-Za-z0-9+.-]{1,30}://[^\s:/@\"'<>]{0,100}:(?P<secret>[^\s@/\"'<>]{1,200})@",
          ("://",), _url_check),
    # Prose with a verb: "the admin password is hunter2", "the token for staging was abc123".
    _rule("password", r"(?i)\b(?:pass(?:word|wd|phrase|code)?|pwd|pin)(?:[ \t]+(?:for|of|to|on|in)"
                      r"(?:[ \t]+[A-Za-z0-9_.@-]{1,40}){1,4})?[ \t]+" + _VERB + r"[ \t]+"
                      + _QUOTED_OR_BARE, ("pass", "pwd", "pin"), _prose_check),
    _rule("secret", r"(?i)\b(?:(?:(?:api|access|auth|bearer|bot|session|refresh|personal access|deploy)[ _-]?)?"
                    r"(?:token|secret)|(?:api|access|secret|private|auth|license|signing|encryption|master|ssh)"
                    r"[ _-]?key)(?:[ \t]+(?:for|of|to|on|in)(?:[ \t]+[A-Za-z0-9_.@-]{1,40}){1,4})?[ \t]+"
                    + _VERB + r"[ \t]+"
                    + _QUOTED_OR_BARE, ("token", "secret", "key"), _prose_check),
    # Prose without a verb: "log in with password Hunter2!"; the value must look generated.
    _rule("password", r"(?i)\b(?:with|using|use|the|my|our|your|admin|root|db|database|new)[ \t]+"
                      r"(?:password|passwd|passphrase|pwd)[ \t]+" + _QUOTED_OR_BARE,
          ("pass", "pwd"), _strict_check),
    _rule("secret", r"(?i)\b(?:with|using|use|the|my|our|your|new)[ \t]+(?:api[ _-]?key|token|secret|"
                    r"access[ _-]?key)[ \t]+" + _QUOTED_OR_BARE, ("token", "secret", "key"), _strict_check),
]

# ---------------------------------------------------------------------------- netrc, other languages
def _netrc_check(text: str, match):
    return _value_span(match, text)


# `machine host login user password x` on one line or several (.netrc, _netrc, git credentials).
RULES.append(_rule("password", r"(?i)\b(?:machine[ \t]+\S{1,200}|default)(?:\s+(?:login|account|port)[ \t]+\S{1,200})"
                               r"{0,3}\s+password[ \t]+" + _QUOTED_OR_BARE, ("machine", "default"), _netrc_check))

# Prose in other languages: "das Passwort ist X", "le mot de passe est X", "la contraseña es X",
# "пароль: X", "密码是 X". Without these languages' lists of ordinary words, the value must look
# generated (strict), so "das Passwort ist falsch" stays a description.
_OPEN_QUOTE = r"[«„“‚‹「『]?[ \t]?"
_PROSE_VALUE = (_OPEN_QUOTE + r"(?:\"(?P<dq>[^\"\n]{1,300})\"|'(?P<sq>[^'\n]{1,300})'|`(?P<bq>[^`\n]{1,300})`"
                r"|(?P<bare>[^\s\"'`,;(){}\[\]<>«»“”„‚‘’‹›]{1,300}))")
# Chinese and Japanese run words together: the value is taken as far as it stays ASCII.
_CJK_VALUE = _OPEN_QUOTE + r"(?P<bare>[^\s\"'`,;(){}\[\]<>\x{80}-\x{10FFFF}]{1,300})"
_WORD = r"[^\s:=—–]{1,40}"
_NOT_AFTER_LETTER = r"(?:^|[^\pL\pN_])"  # RE2's \b knows ASCII letters only


def _prose_rule(before: str, words: str, connectors: str, verbs: str, keywords: tuple[str, ...]) -> Rule:
    """<word> [<connector> up to 4 words | one word] <verb or : = —> <value>, case-insensitive."""
    qualifier = r"(?:[ \t]+(?:" + connectors + r")(?:[ \t]+" + _WORD + r"){1,4}|[ \t]+" + _WORD + r")?"
    link = r"(?:[ \t]+(?:" + verbs + r")(?:[ \t]*:)?|[ \t]*[:=]|[ \t]+[—–-])[ \t]*"
    return _rule("password", r"(?i)" + before + r"(?:" + words + r")" + qualifier + link + _PROSE_VALUE, keywords,
                 _strict_check)


RULES += [
    # German compounds (Datenbankpasswort, WLAN-Passwort) end in the word: no boundary before it.
    _prose_rule("", r"passwort|kennwort", r"für|fuer|fürs|von|vom|zum|zur|des|der|auf|am|beim|bei|im|in",
                r"ist|lautet|lautete|war|heißt|heisst|bleibt|wäre", ("passwort", "kennwort")),
    _prose_rule(_NOT_AFTER_LETTER, r"mot[ \t]+de[ \t]+passe", r"de|du|des|pour|sur|à|au|d'\S{1,40}",
                r"est|était|etait|sera|reste|devient", ("mot de passe",)),
    _prose_rule(_NOT_AFTER_LETTER, r"contraseña|contrasena|clave[ \t]+de[ \t]+acceso", r"de|del|para|en|a",
                r"es|era|será|sera|sigue[ \t]+siendo", ("contraseña", "contrasena", "clave de acceso")),
    _prose_rule(_NOT_AFTER_LETTER, r"пароль|пароля|паролем", r"от|для|к|на|в|с",
                r"это|был|была|будет|есть|теперь", ("парол",)),
    _rule("password", r"(?:密码|密碼|口令|パスワード)(?:[ \t]*(?:是|为|為|：|:|=|は|が)){1,2}[ \t]*" + _CJK_VALUE,
          ("密码", "密碼", "口令", "パスワード"), _strict_check),
]


# ---------------------------------------------------------------------------- entropy next to a word
_NEAR_WORD = compile(r"(?i)\b(?:pass(?:word|wd|phrase)?|pwd|secrets?|tokens?|keys?|credentials?|creds|auth|"
                     r"bearer|apikey)\b")
# A token that may be a generated secret: starts with a letter or digit; "=" only as padding,
# so "token=Xk2..." splits into the word and the value.
_CANDIDATE = compile(r"[A-Za-z0-9][A-Za-z0-9+/_~-]{15,511}={0,3}")
NEAR_WINDOW = 80


def find_high_entropy(text: str):
    """High-entropy strings starting within NEAR_WINDOW characters after a secret-ish word.

    One linear pass finds the candidate tokens (rare in prose); each one then looks back over
    a bounded slice for the word, so the work stays linear in the text.
    """
    for candidate in _CANDIDATE.finditer(text):
        start = candidate.start()
        span = _strip(text, start, candidate.end())
        if not looks_random(text[span[0]:span[1]]):
            continue
        low = max(0, start - NEAR_WINDOW - 20)
        if any(low + word.end() >= start - NEAR_WINDOW for word in _NEAR_WORD.finditer(text[low:start])):
            yield span


HIGH_ENTROPY_KEYWORDS = ("pass", "pwd", "secret", "token", "key", "credential", "creds", "auth", "bearer")
