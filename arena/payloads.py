"""Request bodies of the Arena API (see accounts.payloads)."""

from pydantic import ConfigDict

from accounts.payloads import Payload


class StartEvaluation(Payload):
    """Compare a version against another of its line (`against`: a label), the base model ("base"),
    or, when left out, the line's active version."""

    against: str | None = None


class ImportExam(Payload):
    """A new version of the line's exam: one exam item a line, as the JSONL file holds it (kept as sent, so a
    problem's line number is the sender's)."""

    model_config = ConfigDict(str_strip_whitespace=False)  # the rest as Payload says (pydantic merges them)

    jsonl: str
