"""Request bodies of the Arena API (see accounts.payloads)."""

from accounts.payloads import Payload


class StartEvaluation(Payload):
    """Compare a version against another of its line (`against`: a label), the base model ("base"),
    or, when left out, the line's active version."""

    against: str | None = None
