"""An adapter's prompt format as an Ollama TEMPLATE (Go text/template) that renders the same bytes.

Ollama renders a chat with Go's text/template over {.Messages (.Role, .Content), .System,
.Prompt, .Response}; its tokenizer then adds BOS. The derived TEMPLATE must therefore give
exactly the training prompt (training.trainer.prompts.render_prompt) minus a leading BOS text
where the tokenizer adds BOS itself (add_bos_token).

How a chat template is derived: it is rendered with sentinel message contents, and the text
between consecutive messages is cut out as a *joint* keyed by (previous role, next role):
("", user) is everything before a conversation's first user message (a default system
prompt included), (user, assistant) holds the user's end marker and the assistant header,
(user, END) the user's end marker plus the generation prompt. Keying by the pair, not by one
role, is what keeps each turn's end marker on its own turn; where the joints factor into
per-role prefix and suffix segments the TEMPLATE is written that way, as Ollama's own
templates are. Probes with padded contents tell
whether the template trims contents (`| trim`), which the Go side reproduces with recursive
`define`d templates. A template that refuses system messages gets them folded into the first
user turn, as the trainer does. Finally the shape is re-rendered (emulate(), which follows the
Go template step by step) on probe conversations and compared with the Jinja render; any
difference refuses the derivation with OllamaTemplateError instead of exporting a template
that would serve a different prompt.
"""

import dataclasses
import os
import string

from training.trainer.prompts import PromptError, render_prompt, render_template

ROLES = ("system", "user", "assistant")
START, END = "", "end"
# Python's str.strip() whitespace (what Jinja's trim filter strips), by UTF-8 length.
_WHITESPACE = {1: "\t\n\v\f\r\x1c\x1d\x1e\x1f ", 2: "\x85\xa0",
               3: "\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
                  "\u2028\u2029\u202f\u205f\u3000"}
_PAD = " \n\t"


class OllamaTemplateError(PromptError):
    """The prompt format cannot be written as an Ollama TEMPLATE that renders the same bytes."""


@dataclasses.dataclass(frozen=True)
class ChatShape:
    """What a chat template does, in the terms a Go template can repeat."""

    joints: dict  # (previous role or START, role or END) -> literal text
    system: str  # "native", "folded" (into the first user turn) or "dropped"
    trimmed: frozenset  # roles whose content the template strips
    skip_empty_system: bool = False  # a system message with empty content renders nothing
    # The same joints as per-role segments when they factor cleanly: {"head": {role: text
    # before a first message}, "prefix": {role: text}, "suffix": {role: text}, "generation":
    # text}. Each end marker then sits in its own role's suffix, as in Ollama's own templates.
    segments: dict | None = None


def ollama_template(prompt: dict) -> str:
    """The Go TEMPLATE for this prompt block; raises OllamaTemplateError when none is exact."""
    if prompt.get("style") == "alpaca":
        template = _alpaca_go(prompt["template"])
    elif prompt.get("style") == "chat_template":
        template = _chat_go(derive(prompt))
    else:
        raise OllamaTemplateError(f"unknown prompt style {prompt.get('style')!r}")
    verify(prompt)
    return template


def ollama_prompt(prompt: dict, messages: list[dict]) -> str:
    """The text Ollama's template should produce: the training prompt without the BOS its tokenizer adds."""
    return _without_bos(prompt, render_prompt(prompt, messages))


def _without_bos(prompt: dict, text: str) -> str:
    # Ollama's tokenizer puts BOS in front only where the model's tokenizer does (GGUF
    # tokenizer.ggml.add_bos_token, recorded as add_bos_token; older blocks lack the key and
    # meant yes). SmolLM2's BOS text is <|im_start|> with add_bos_token false: that text stays.
    bos = prompt.get("bos_token") or ""
    adds_bos = prompt.get("add_bos_token", True)
    return text[len(bos):] if bos and adds_bos and text.startswith(bos) else text


# ---- chat templates


def _sentinel(n: int) -> str:
    return f"\x02{n}\x03"


def _render(prompt: dict, roles: list[str], *, pad: str = "", empty: int | None = None,
            generation: bool = True) -> str:
    messages = [{"role": r, "content": "" if i == empty else
                 (_PAD if r == pad else "") + _sentinel(i) + (_PAD if r == pad else "")}
                for i, r in enumerate(roles)]
    return _without_bos(prompt, render_template(prompt, messages, add_generation_prompt=generation))


def _cut(text: str, roles: list[str]) -> dict:
    """Joints between consecutive sentinels; refuses text that reorders or drops messages."""
    joints, rest, prev = {}, text, START
    for i, role in enumerate(roles):
        before, found, rest = rest.partition(_sentinel(i))
        if not found or any(_sentinel(j) in before for j in range(len(roles))):
            raise OllamaTemplateError(
                f"the chat template does not render each {role} message in place, in order "
                f"(it moves, repeats or drops message {i + 1} of {'/'.join(roles)})")
        joints[(prev, role)] = before
        prev = role
    if any(_sentinel(j) in rest for j in range(len(roles))):
        raise OllamaTemplateError(f"the chat template repeats a message after the last one of {'/'.join(roles)}")
    joints[(prev, END)] = rest
    return joints


def _merge(joints: dict, more: dict) -> None:
    for key, text in more.items():
        if joints.setdefault(key, text) != text:
            raise OllamaTemplateError(
                f"the chat template writes a different text between {key[0] or 'start'} and {key[1]} "
                "depending on the position in the conversation")


def derive(prompt: dict) -> ChatShape:
    """Cut the chat template into joints, find how it treats system messages and whitespace."""
    try:
        chain = ["user", "assistant", "user", "assistant", "user"]
        joints = _cut(_render(prompt, chain), chain)
        _merge(joints, _cut(_render(prompt, ["user"]), ["user"]))
        system = _system_mode(prompt, joints)
        trimmed = frozenset(r for r in ROLES if (r != "system" or system == "native") and _trims(prompt, r, system))
        skip_empty = system == "native" and _skips_empty_system(prompt)
    except OllamaTemplateError:
        raise
    except PromptError as exc:
        raise OllamaTemplateError(f"the chat template cannot render a plain conversation: {exc}") from exc
    return ChatShape(joints=joints, system=system, trimmed=trimmed, skip_empty_system=skip_empty,
                     segments=_segments(prompt, joints, system))


def _segments(prompt: dict, joints: dict, system: str) -> dict | None:
    """Factor joint(previous, role) into suffix(previous) + prefix(role); None when they do not factor.

    A role's suffix is what every text after its messages starts with (the joints leaving
    it, and the end of a conversation rendered without generation prompt); cut back to a
    line or tag end when those texts part in the middle of a token ("<|end|>\n<|").
    """
    roles = [r for r in ROLES if r != "system" or system == "native"]
    suffix = {}
    for role in roles:
        texts = [text for (prev, _), text in joints.items() if prev == role] + _conversation_end(prompt, role)
        common = os.path.commonprefix(texts) if texts else ""
        if texts and all(len(common) < len(t) for t in texts):
            common = common[:max(common.rfind("\n"), common.rfind(">")) + 1]
        suffix[role] = common
    prefix = {}
    for role in roles:
        found = {joints[(p, role)][len(suffix[p]):] for p in roles if (p, role) in joints}
        if len(found) > 1:
            return None
        prefix[role] = found.pop() if found else joints.get((START, role), "")
    head = {role: joints[(START, role)] for role in roles if (START, role) in joints}
    generation = joints[("user", END)][len(suffix["user"]):]
    return {"head": head, "prefix": prefix, "suffix": suffix, "generation": generation}


def _conversation_end(prompt: dict, role: str) -> list[str]:
    roles = {"system": ["system"], "user": ["user"], "assistant": ["user", "assistant"]}[role]
    try:
        return [_render(prompt, roles, generation=False).rpartition(_sentinel(len(roles) - 1))[2]]
    except PromptError:
        return []


def _skips_empty_system(prompt: dict) -> bool:
    # e.g. Phi-3: {% if message['role'] == 'system' and message['content'] %}
    with_empty = _render(prompt, ["system", "user"], empty=0)
    return with_empty == _render(prompt, ["user"]).replace(_sentinel(0), _sentinel(1))


def _system_mode(prompt: dict, joints: dict) -> str:
    roles = ["system", "user", "assistant", "user"]
    try:
        text = _render(prompt, roles)
    except PromptError:
        return "folded"  # the template refuses system messages: fold, as render_prompt does
    if _sentinel(0) not in text:
        return "dropped"
    _merge(joints, _cut(text, roles))
    return "native"


def _trims(prompt: dict, role: str, system: str) -> bool:
    roles = (["system"] if role == "system" else []) + ["user", "assistant", "user"]
    plain, padded = _render(prompt, roles), _render(prompt, roles, pad=role)
    verbatim = plain
    for i, r in enumerate(roles):
        if r == role:
            verbatim = verbatim.replace(_sentinel(i), _PAD + _sentinel(i) + _PAD)
    if padded == verbatim:
        return False
    if padded == plain:
        return True
    raise OllamaTemplateError(f"the chat template changes {role} message contents in a way Go cannot repeat")


def _joint(shape: ChatShape, prev: str, role: str) -> str | None:
    if (prev, role) in shape.joints:
        return shape.joints[(prev, role)]
    if role == END:
        return None
    fallback = {"system": (START, "system"), "user": ("assistant", "user"), "assistant": ("user", "assistant")}
    return shape.joints.get(fallback[role], "")


def _collate(messages: list[dict]) -> tuple[str, list[dict]]:
    """Ollama's collate(): join system contents; merge consecutive messages of one role."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    merged: list[dict] = []
    for m in messages:
        if merged and merged[-1]["role"] == m["role"] and m["role"] != "tool":
            merged[-1] = {**merged[-1], "content": merged[-1]["content"] + "\n\n" + m["content"]}
        else:
            merged.append(dict(m))
    return system, merged


def emulate(shape: ChatShape, messages: list[dict]) -> str:
    """What the Go template of `shape` renders for `messages`, step for step."""
    system, messages = _collate(messages)
    out, prev = [], START
    for m in messages:
        role, content = m["role"], m["content"]
        if role not in ROLES or (role == "system" and shape.system != "native"):
            continue
        if role == "system" and shape.skip_empty_system and not content:
            continue
        if role == "user" and shape.system == "folded" and prev == START and system:
            content = f"{system}\n\n{content}"
        out += [_before(shape, prev, role), content.strip(_STRIP) if role in shape.trimmed else content,
                shape.segments["suffix"][role] if shape.segments else ""]
        prev = role
    end = _end(shape, prev)
    return "".join(out) + (end or "")


def _before(shape: ChatShape, prev: str, role: str) -> str:
    if shape.segments is None:
        return _joint(shape, prev, role)
    head = shape.segments["head"]
    return head[role] if prev == START and role in head else shape.segments["prefix"][role]


def _end(shape: ChatShape, prev: str) -> str | None:
    if shape.segments is None:
        return _joint(shape, prev, END)
    return shape.segments["generation"] if prev == "user" else None


_STRIP = "".join(_WHITESPACE.values())


def _chat_go(shape: ChatShape) -> str:
    branches = []
    for role in ROLES:
        if role == "system" and shape.system != "native":
            continue
        content = ".Content"
        if role == "user" and shape.system == "folded":
            folded = '(printf "%s\\n\\n%s" $.System .Content)'
            body = (f'{{{{ if and (eq $prev "") $.System }}}}{_content_go(folded, role in shape.trimmed)}'
                    f'{{{{ else }}}}{_content_go(content, role in shape.trimmed)}{{{{ end }}}}')
        else:
            body = _content_go(content, role in shape.trimmed)
        if shape.segments:
            body = f'{_before_go(shape, role)}{body}{_literal(shape.segments["suffix"][role])}'
        else:
            body = f"{_joints_go(shape, role)}{body}"
        body += f'{{{{ $prev = "{role}" }}}}'
        if role == "system" and shape.skip_empty_system:
            body = f"{{{{ if .Content }}}}{body}{{{{ end }}}}"
        branches.append(f'eq .Role "{role}" }}}}{body}')
    end = shape.segments["generation"] if shape.segments else shape.joints.get(("user", END))
    head = _trim_defines() if shape.trimmed else ""
    return (head + '{{ $prev := "" }}{{ range .Messages }}{{ if ' + "{{ else if ".join(branches)
            + "{{ end }}{{ end }}" + (f'{{{{ if eq $prev "user" }}}}{_literal(end)}{{{{ end }}}}' if end else ""))


def _before_go(shape: ChatShape, role: str) -> str:
    prefix, head = shape.segments["prefix"][role], shape.segments["head"].get(role)
    if head is None or head == prefix:
        return _literal(prefix)
    return f'{{{{ if eq $prev "" }}}}{_literal(head)}{{{{ else }}}}{_literal(prefix)}{{{{ end }}}}'


def _joints_go(shape: ChatShape, role: str) -> str:
    """The text before a `role` message, chosen by the previous message's role ($prev)."""
    fallback = _joint(shape, "\x00", role)
    cases = [(p, shape.joints[(p, role)]) for p in (START, *ROLES)
             if (p, role) in shape.joints and shape.joints[(p, role)] != fallback]
    if not cases:
        return _literal(fallback)
    tests = "".join(f'{{{{ {"if" if i == 0 else "else if"} eq $prev "{p}" }}}}{_literal(text)}'
                    for i, (p, text) in enumerate(cases))
    return f"{tests}{{{{ else }}}}{_literal(fallback)}{{{{ end }}}}"


def _content_go(expr: str, trimmed: bool) -> str:
    return f'{{{{ template "ltrim" {expr} }}}}' if trimmed else f"{{{{ {expr} }}}}"


def _ws_test(n: int, tail: bool) -> str:
    part = f"(slice . (len (slice . {n})))" if tail else f"(slice . 0 {n})"
    tests = " ".join(f"(eq {part} {_go_string(c)})" for c in _WHITESPACE[n])
    test = f"(or {tests})" if len(_WHITESPACE[n]) > 1 else tests
    return test if n == 1 else f"(and (gt (len .) {n - 1}) {test})"


def _trim_define(name: str, tail: bool) -> str:
    steps = "".join(
        f'{{{{ else if {_ws_test(n, tail)} }}}}{{{{ template "{name}" '
        + (f"(slice . 0 (len (slice . {n})))" if tail else f"(slice . {n})") + " }}"
        for n in (1, 2, 3))
    last = "{{ . }}" if tail else '{{ template "rtrim" . }}'
    return f'{{{{ define "{name}" }}}}{{{{ if not . }}}}{steps}{{{{ else }}}}{last}{{{{ end }}}}{{{{ end }}}}'


def _trim_defines() -> str:
    """Jinja's `| trim` in Go: strip leading whitespace one character at a time, then trailing."""
    return _trim_define("ltrim", tail=False) + _trim_define("rtrim", tail=True)


# ---- Alpaca


def _alpaca_go(template: str) -> str:
    out = ['{{ $last := -1 }}{{ range $i, $m := .Messages }}{{ if eq $m.Role "user" }}{{ $last = $i }}'
           "{{ end }}{{ end }}"]
    for literal, field, spec, conversion in string.Formatter().parse(template):
        out.append(_literal(literal))
        if field is None:
            continue
        if spec or conversion or field not in ("instruction", "input", "output"):
            raise OllamaTemplateError(f"the Alpaca template's field {{{field}}} has no Ollama equivalent")
        out.append(_ALPACA_FIELDS[field])
    return "".join(out)


_ROLE_NAME = ('{{ if eq $m.Role "system" }}System{{ else if eq $m.Role "user" }}User'
              '{{ else if eq $m.Role "assistant" }}Assistant{{ else if eq $m.Role "tool" }}Tool'
              "{{ else }}{{ $m.Role }}{{ end }}")
_ALPACA_FIELDS = {
    "instruction": "{{ (index .Messages $last).Content }}",
    "input": ("{{ $first := true }}{{ range $i, $m := .Messages }}{{ if ne $i $last }}"
              "{{ if not $first }}\n{{ end }}{{ $first = false }}" + _ROLE_NAME
              + ": {{ $m.Content }}{{ end }}{{ end }}"),
    "output": "",
}


# ---- Go text


def _go_string(text: str) -> str:
    """A Go interpreted string literal for text."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or ch in _WHITESPACE[2] + _WHITESPACE[3]:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _literal(text: str) -> str:
    """Text a Go template emits verbatim; anything near template syntax goes in a string action."""
    if not text:
        return ""
    if any(c in text for c in '{}"') or any(ord(c) < 0x20 and c not in "\n\t" for c in text):
        return "{{ " + _go_string(text) + " }}"
    return text


# ---- verification


def probe_conversations() -> list[tuple[str, list[dict]]]:
    """Conversations the derived template is checked on before any export."""
    def msg(role, content):
        return {"role": role, "content": content}

    odd = 'a {{ b }} "c" \\ {% d %}\n\ttabbed  '
    return [
        ("one turn", [msg("user", "How do I list files?")]),
        ("system and user", [msg("system", "Be terse."), msg("user", "List files.")]),
        ("empty system message", [msg("system", ""), msg("user", "List files.")]),
        ("multi-turn", [msg("user", "Hi"), msg("assistant", "Hello."), msg("user", "List files."),
                        msg("assistant", "ls"), msg("user", "Hidden ones too?")]),
        ("system and multi-turn", [msg("system", "Be terse."), msg("user", "Hi"), msg("assistant", "Hello."),
                                   msg("user", "List files.")]),
        ("padded and odd contents", [msg("system", "  sys \n"), msg("user", odd), msg("assistant", "\n" + odd),
                                     msg("user", " \u00a0x\u3000 ")]),
    ]


def verify(prompt: dict) -> None:
    """Refuse (OllamaTemplateError) unless the Go template renders every probe exactly."""
    shape = derive(prompt) if prompt.get("style") == "chat_template" else None
    for name, messages in probe_conversations():
        try:
            expected = ollama_prompt(prompt, messages)
        except PromptError:
            continue  # a conversation training itself cannot render is not served either
        got = emulate(shape, messages) if shape else emulate_alpaca(prompt["template"], messages)
        if got != expected:
            raise OllamaTemplateError(
                f"the Ollama template would render the {name} conversation differently from training "
                f"({_first_difference(expected, got)})")


def emulate_for(prompt: dict, messages: list[dict]) -> str:
    """What Ollama renders for `messages` with this prompt block's derived template."""
    if prompt.get("style") == "alpaca":
        return emulate_alpaca(prompt["template"], messages)
    return emulate(derive(prompt), messages)


def emulate_alpaca(template: str, messages: list[dict]) -> str:
    _, messages = _collate(messages)
    last = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if last is None:
        raise OllamaTemplateError("an alpaca prompt needs a user message")
    lines = [f"{m['role'].capitalize()}: {m['content']}" for i, m in enumerate(messages) if i != last]
    return template.format(instruction=messages[last]["content"], input="\n".join(lines), output="")


def _first_difference(expected: str, got: str) -> str:
    i = next((k for k, (a, b) in enumerate(zip(expected, got, strict=False)) if a != b), min(len(expected), len(got)))
    return f"training has {expected[i:i + 30]!r} where Ollama would have {got[i:i + 30]!r} at character {i}"
