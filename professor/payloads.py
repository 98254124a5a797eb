"""Request bodies of the Professor API (see accounts.payloads)."""

from typing import Annotated

from pydantic import Field

from accounts.payloads import Payload

MAX_WORDS = 500


class Ask(Payload):
    """A command in plain words ("check training progress")."""

    words: Annotated[str, Field(min_length=1, max_length=MAX_WORDS)]
