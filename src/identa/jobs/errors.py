"""Errors of the jobs domain (stable codes, no HTTP)."""

from __future__ import annotations

from identa.core.errors import DomainError, InvalidInput, NotFound


class JobNotFound(NotFound):
    code = "inexistent_job"


class InvalidImportFile(InvalidInput):
    """The uploaded users file is not a JSON array of objects (or is too large)."""

    code = "invalid_import_file"


class ImportFileTooLarge(InvalidInput):
    code = "import_file_too_large"


class InvalidExportRequest(InvalidInput):
    code = "invalid_export_request"


class LeaseLost(DomainError):
    """Another worker took over the job (this one was presumed dead): stop without writing."""

    code = "lease_lost"
