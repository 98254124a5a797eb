"""Request bodies of the registry API (see accounts.payloads)."""

from typing import Annotated

from pydantic import Field

from accounts.payloads import Payload


class Promote(Payload):
    reason: str = ""


class Rollback(Payload):
    """`to`: the label of the version to go back to (default: the one active before)."""

    reason: str = ""
    to: str | None = None


class RegisterAdapter(Payload):
    """`adapter_dir`: a folder relative to the data root."""

    adapter_dir: Annotated[str, Field(min_length=1)]
    notes: str = ""
