"""Sandboxed rule runtimes (Python and Auth0-style JavaScript) behind one entry point, RuleRunner.

Importing this package starts nothing; worker processes start on first use or `RuleRunner.start`.
"""

from identa.rules.runtime.allowlist import HostPolicy, HostRefused
from identa.rules.runtime.pool import Limits
from identa.rules.runtime.runner import DEFAULT_BUDGET_S, RuleRunner
from identa.rules.runtime.types import (
    MentionCapture,
    MetadataUpdate,
    RuleFailure,
    RuleRecord,
    RuleSpec,
    RunOutcome,
)

__all__ = [
    "DEFAULT_BUDGET_S",
    "HostPolicy",
    "HostRefused",
    "Limits",
    "MentionCapture",
    "MetadataUpdate",
    "RuleFailure",
    "RuleRecord",
    "RuleRunner",
    "RuleSpec",
    "RunOutcome",
]
