"""What can go wrong with staff accounts and console logins."""

from __future__ import annotations

from identa.core.errors import Conflict, DomainError, InvalidInput, NotFound


class StaffNotFound(NotFound):
    code = "staff_not_found"


class StaffExists(Conflict):
    code = "staff_exists"


class InvalidStaff(InvalidInput):
    code = "invalid_staff"


class WrongStaffCredentials(DomainError):
    """Unknown e-mail, wrong password or disabled account: one answer, nothing revealed."""

    code = "wrong_credentials"


class StaffDisabled(DomainError):
    """Right password, but the account is disabled (said only to whoever knows the password)."""

    code = "staff_disabled"
