"""What happened after a /v1 completion: how it was served, and the agent's outcome for it.

record_completion() runs once per /v1 chat completion (the id the agent saw, the version
that answered, its latency, a serving error or timeout); record_outcome() attaches the
agent's verdict (POST /api/v1/feedback). Both wake the line's canary test when the
completion was part of one.
"""

import itertools
import logging
import threading

from django.utils import timezone

from accounts.roles import MANAGE_MODELS
from curation.secrets import scrub_text
from models_registry import canary as canaries
from models_registry.models import Outcome, ServedCompletion

logger = logging.getLogger(__name__)

GUARD_EVERY = 10  # a canary's guards are also checked every this many of its completions
MAX_WORDS = 4000

_counter = itertools.count(1)
_counter_lock = threading.Lock()


class FeedbackError(Exception):
    """An outcome was refused: `field` names what was wrong, `status` the HTTP answer."""

    def __init__(self, field: str | None, message: str, status: int = 400):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def record_completion(completion_id: str, served, *, user, latency_ms: float, canary_id: int | None,
                      error: bool = False, timed_out: bool = False) -> None:
    """Keep a served completion so that its outcome can be attached later; never fails the request."""
    try:
        ServedCompletion.objects.create(
            completion_id=completion_id, line_id=served.line_id, version_id=served.version_id, canary_id=canary_id,
            user=user if getattr(user, "is_authenticated", False) else None, latency_ms=latency_ms,
            error=error, timed_out=timed_out)
        if canary_id is not None:
            with _counter_lock:
                due = next(_counter) % GUARD_EVERY == 0
            if error or timed_out or due:
                canaries.evaluate(canary_id)
    except Exception:
        logger.exception("could not record completion %s", completion_id)


def record_outcome(user, completion_id, outcome, score=None, words=None) -> ServedCompletion:
    """Attach the agent's outcome to a completion it was served; raises FeedbackError naming the problem."""
    if not isinstance(completion_id, str) or not completion_id.startswith("chatcmpl-"):
        raise FeedbackError("completion_id", "completion_id: the id of a chat completion (\"chatcmpl-...\") "
                                             "is required")
    if outcome not in Outcome.values:
        raise FeedbackError("outcome", f"outcome: must be one of {', '.join(Outcome.values)}")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1):
        raise FeedbackError("score", "score: a number from 0 to 1, or leave it out")
    if words is not None and not isinstance(words, str):
        raise FeedbackError("words", "words: text, or leave it out")
    if words and len(words) > MAX_WORDS:
        raise FeedbackError("words", f"words: at most {MAX_WORDS} characters")
    completion = ServedCompletion.objects.filter(completion_id=completion_id).first()
    # Another user's completions are as unknown as ids never served (Admins may answer for anyone).
    if completion is None or (completion.user_id not in (None, user.pk) and not user.has_perm(MANAGE_MODELS)):
        raise FeedbackError("completion_id", f"completion_id: no completion {completion_id!r} was served "
                                             "to you (ids come from /v1/chat/completions)", 404)
    changed = ServedCompletion.objects.filter(pk=completion.pk, outcome="").update(
        outcome=outcome, score=score, words=scrub_text(words or "")[0], outcome_at=timezone.now())
    if changed != 1:
        raise FeedbackError("completion_id", f"completion_id: {completion_id} already has an outcome "
                                             "(one per completion)", 409)
    completion.refresh_from_db()
    if completion.canary_id is not None:
        # Outside any transaction: a promotion this outcome decides talks to Ollama before it locks the line.
        canaries.evaluate(completion.canary_id)
    return completion
