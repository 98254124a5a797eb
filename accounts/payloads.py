"""Typed API request bodies: one pydantic model per body, one error shape that names the field.

Every JSON endpoint that takes a body declares it as a `Payload` subclass in its app's
payloads.py and reads it with `read_payload`. Errors answer 400 as
{"error": "invalid <what>: <first problems>", "details": [{"field": "a.b", "message": "a.b: ..."}]};
`validation_details` gives Django ValidationErrors raised by services the same shape.

JSON model fields that have a shape declare it as a `Shape` subclass next to their app's model
and are checked with `check_shape` by the service that writes them (the stored value is kept as given).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from accounts.api import json_error, read_json


class Payload(BaseModel):
    """A request body: unknown fields are refused, types are not coerced (JSON gives real types)."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class Shape(BaseModel):
    """The shape of a stored JSON field: unknown keys are refused, types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _message(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "required"
    if error["type"] == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    return error["msg"]


def payload_details(exc: PydanticValidationError) -> list[dict]:
    details = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or None
        message = _message(error)
        details.append({"field": field, "message": f"{field}: {message}" if field else message})
    return details


def check_shape(model: type[Shape], data, *, field: str) -> None:
    """Raise a Django ValidationError unless `data` fits `model`; every error names its key as "<field>.a.b"."""
    try:
        model.model_validate(data)
    except PydanticValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in exc.errors():
            name = ".".join([field, *(str(part) for part in error["loc"] if part != "[key]")])
            errors.setdefault(name, []).append(f"{name}: {_message(error)}")
        raise DjangoValidationError(errors) from None


def validation_details(exc: DjangoValidationError) -> list[dict]:
    """A service's ValidationError in the API's shape (field None when the service named none)."""
    if hasattr(exc, "error_dict"):
        return [{"field": field if field != "__all__" else None, "message": message}
                for field, messages in exc.message_dict.items() for message in messages]
    return [{"field": None, "message": message} for message in exc.messages]


def error_response(what: str, details: list[dict], status: int = 400):
    summary = "; ".join(d["message"] for d in details[:3])
    return json_error(f"invalid {what}: {summary}" if summary else f"invalid {what}", status, details)


def _has_body(request) -> bool:
    try:
        return bool(request.body)
    except RequestDataTooBig:  # read_json answers 413
        return True


def read_payload(request, model: type[Payload], *, what: str, optional: bool = False):
    """Parse and check the body against `model`. Returns (payload, None) or (None, error response).

    With `optional`, an empty body is the model's defaults."""
    if optional and not _has_body(request):
        return model(), None
    data, error = read_json(request, settings.API_MAX_BODY_BYTES)
    if error:
        return None, error
    if not isinstance(data, dict):
        return None, error_response(what, [{"field": None, "message": "the body must be a JSON object"}])
    try:
        return model.model_validate(data), None
    except PydanticValidationError as exc:
        return None, error_response(what, payload_details(exc))
