"""Domain errors. No HTTP here: app/api/errors.py maps them to status codes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from app.i18n import translate


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one field, as a message code with parameters.

    `texts` carries the form author's own message (e.g. a constraint_message) by language.
    """

    field: str
    code: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    texts: dict[str, str] = dataclasses.field(default_factory=dict)

    def message(self, language: str) -> str:
        """The message in the given language."""
        return self.texts.get(language) or translate(self.code, language, **self.params)

    def as_dict(self, language: str) -> dict[str, Any]:
        """JSON shape of a problem."""
        return {"field": self.field, "code": self.code, "message": self.message(language)}


class DomainError(Exception):
    """Base of the errors users can cause; each carries a message code."""

    code = "error"

    def __init__(self, code: str | None = None, **params: Any) -> None:
        self.code = code or self.code
        self.params = params
        super().__init__(f"{self.code}: {params}")

    def message(self, language: str) -> str:
        """The message in the given language."""
        return translate(self.code, language, **self.params)


class NotFound(DomainError):
    """Nothing stored under that id; `<thing>_not_found` codes say what in the message, and
    clients see the one code `not_found`."""

    code = "not_found"

    def __init__(self, code: str | None = None, **params: Any) -> None:
        super().__init__(code, **params)
        self.message_code = self.code
        if self.code.endswith("_not_found"):
            self.code = "not_found"

    def message(self, language: str) -> str:
        """The message in the given language."""
        return translate(self.message_code, language, **self.params)


class Conflict(DomainError):
    code = "conflict"


class InvalidInput(DomainError):
    """Input that fails validation; `problems` names each bad field."""

    code = "validation_failed"

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__()
        self.problems = problems


class UnsupportedMediaType(DomainError):
    """A request body of a type the endpoint does not read."""

    code = "unsupported_media_type"


class PayloadTooLarge(DomainError):
    """A request body larger than what its endpoint takes (e.g. a file of a given kind)."""

    code = "body_too_large"


class Unauthorized(DomainError):
    """No valid sign-in (none, a wrong password, an expired or revoked token)."""

    code = "sign_in_required"


class TooManyRequests(DomainError):
    """Too many attempts lately; `retry_after` seconds until the next may succeed."""

    code = "too_many_requests"


class Forbidden(DomainError):
    """A request refused whoever makes it (e.g. from a page on another site)."""

    code = "forbidden"


class UnknownForm(DomainError):
    """A submission for a form (or form version) the server does not have."""

    code = "unknown_form"
