"""Domain errors raised by services; each layer turns them into its own answer.

- `Conflict`: the action is not allowed *now* (wrong state, already decided): HTTP 409.
- `DomainValidationError`: the input breaks a rule: HTTP 400 with details.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status_code = 400
    default_code = "invalid"
    default_message = _("The request could not be processed.")

    def __init__(self, message=None, *, code: str | None = None, details: dict | None = None):
        self.message = message if message is not None else self.default_message
        self.code = code or self.default_code
        self.details = details or {}
        super().__init__(str(self.message))


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"
    default_message = _("This action is not allowed in the current state.")


class DomainValidationError(DomainError):
    status_code = 400
    default_code = "invalid"


class MissingAgencyError(RuntimeError):
    """A unit of work (Celery task, service) was started without an agency."""
