"""Every scrubbing rule runs in linear time, whoever rewrites it.

Two checks: each pattern is compiled by RE2 (no backtracking), and a fuzz test feeds each
rule adversarial inputs at two sizes. Time is compared as a ratio between the two sizes
(linear work grows 4x for 4x the text, quadratic work 16x), never as an absolute duration.
"""

import functools
import math
import random
import time

import pytest
import re2

from curation.secrets import scrub
from curation.secrets.context import find_high_entropy
from curation.secrets.detector import MARKER, all_rules

SMALL = 20_000
# Each measurement is repeated until it lasts this long (only to rise above timer noise).
MIN_SAMPLE_S = 0.005
GROWTH = 4
# Linear work gives a ratio near GROWTH; quadratic work gives GROWTH**2 = 16.
MAX_RATIO = 10


@functools.cache
def _adversarial(keywords: tuple[str, ...], size: int) -> list[str]:
    words = list(keywords) or ["token"]
    rng = random.Random(size)
    fillers = ["\n", " ", "a", "A", "0", "=", "-", "_", ":", "\"", "'", "/", "\t", ".", "@"]
    inputs = [filler * size + words[0] for filler in fillers]
    for word in words[:4]:
        inputs.append((word + " ") * (size // (len(word) + 1)))
        inputs.append((word + "=") * (size // (len(word) + 1)))
        inputs.append((word + ":a") * (size // (len(word) + 2)))
        inputs.append(word + "A" * size)
        inputs.append(word + "-" + "a1" * (size // 2))
        inputs.append("".join(rng.choice([word, " ", "=", "\"", "a1B2", "\n", ":", "is "]) for _ in range(size // 4)))
    inputs.append("-----BEGIN PRIVATE KEY-----" + "A" * size)
    inputs.append("mysql " + "x" * size + " -p")
    inputs.append("https://" + "a:" * (size // 2))
    inputs.append("[REDACTED:password] password=Tr0ub4dor3 " * (size // 40))  # markers next to findings
    return [text[:size * 2] for text in inputs]


def _cost(run, texts: list[str], loops: int) -> float:
    best = float("inf")
    for _ in range(2):
        started = time.perf_counter()
        for _ in range(loops):
            for text in texts:
                run(text)
        best = min(best, time.perf_counter() - started)
    return best


def _ratio(run, keywords) -> float:
    """The growth ratio; a high one is measured again (the machine is shared), quadratic work stays high."""
    ratio = _measure(run, keywords)
    for _ in range(2):
        if ratio < MAX_RATIO:
            break
        ratio = min(ratio, _measure(run, keywords))
    return ratio


def _measure(run, keywords) -> float:
    small_texts = _adversarial(keywords, SMALL)
    # Repeat the small inputs until they take long enough to time, so timer noise is negligible.
    loops = max(1, math.ceil(MIN_SAMPLE_S / max(_cost(run, small_texts, 1), 1e-6)))
    small = _cost(run, small_texts, loops)
    large = _cost(run, _adversarial(keywords, SMALL * GROWTH), loops)
    return large / small


def test_every_rule_is_compiled_by_re2():
    for rule in all_rules():
        assert isinstance(rule.pattern, re2._Regexp), rule.name
    assert isinstance(MARKER, re2._Regexp)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda rule: rule.name)
def test_each_rule_stays_linear_on_adversarial_input(rule):
    run = (lambda text: list(rule.find_kinded(text, lambda *_: ""))) if hasattr(rule, "find_kinded") \
        else (lambda text: list(rule.find(text)))
    ratio = _ratio(run, rule.keywords)
    assert ratio < MAX_RATIO, f"{rule.name}: {GROWTH}x the text took {ratio:.1f}x the time"


def test_the_entropy_stage_stays_linear():
    ratio = _ratio(lambda text: list(find_high_entropy(text)), ("token", "password", "key"))
    assert ratio < MAX_RATIO


def test_the_whole_scrubber_stays_linear_on_newlines_before_a_keyword():
    # The reported case: 100 KB of newlines followed by "token".
    ratio = _ratio(lambda text: scrub(text), ("token",))
    assert ratio < MAX_RATIO
