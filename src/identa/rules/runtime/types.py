"""What the rules pipeline gives the runtimes and what it gets back."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from identa.rules.service import detect_runtime

Runtime = Literal["python", "javascript"]


@dataclass(frozen=True)
class RuleSpec:
    id: str
    name: str
    script: str
    runtime: str | None = None

    @property
    def resolved_runtime(self) -> str:
        return self.runtime or detect_runtime(self.script)

    @property
    def script_hash(self) -> str:
        return hashlib.sha256(f"{self.resolved_runtime}\0{self.script}".encode()).hexdigest()


@dataclass(frozen=True)
class MetadataUpdate:
    """A rule's `updateUserMetadata` / `updateAppMetadata`: the object it passed, as a whole.

    Apply like Auth0's `PATCH /api/v2/users/{id}` with `{kind: value}` (top-level merge, a null
    value removes the key), in the order given.
    """

    user_id: str
    kind: Literal["user_metadata", "app_metadata"]
    value: dict[str, Any]


@dataclass(frozen=True)
class MentionCapture:
    """A rule's `api.mentions.add` / `identa.mentions.add`: a text about the company, attached
    to `user_id` and scored for sentiment by the server in the login's transaction."""

    user_id: str
    text: str
    source: str
    url: str | None = None


@dataclass(frozen=True)
class RuleRecord:
    """One rule's run, for the login's event."""

    rule_id: str
    rule_name: str
    runtime: str
    duration_ms: float
    outcome: str  # continue | deny | redirect | error | skipped
    console: str = ""
    truncated: bool = False
    error: str | None = None
    # for errors: timeout | memory | exception | syntax | callback | crash
    reason: str | None = None


@dataclass(frozen=True)
class RuleFailure:
    rule_id: str
    rule_name: str
    message: str
    reason: str

    def __str__(self) -> str:
        return f"rule '{self.rule_name}' failed: {self.message}"


@dataclass
class RunOutcome:
    user: dict[str, Any]
    context: dict[str, Any]
    metadata_updates: list[MetadataUpdate] = field(default_factory=list)
    mentions: list[MentionCapture] = field(default_factory=list)
    records: list[RuleRecord] = field(default_factory=list)
    denied: str | None = None
    denied_by: str | None = None
    redirect_url: str | None = None
    redirect_by: str | None = None
    error: RuleFailure | None = None

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        if self.denied is not None:
            return "deny"
        if self.redirect_url is not None:
            return "redirect"
        return "continue"

    @property
    def id_token_claims(self) -> dict[str, Any]:
        claims = self.context.get("idToken")
        return dict(claims) if isinstance(claims, dict) else {}

    @property
    def access_token_claims(self) -> dict[str, Any]:
        """Claims for the access token; a `scope` key (a list) overrides the granted scopes."""
        claims = self.context.get("accessToken")
        return dict(claims) if isinstance(claims, dict) else {}

    def merged_metadata(self) -> dict[str, dict[str, dict[str, Any]]]:
        """user_id -> kind -> the result of applying every update in order (top-level merge)."""
        merged: dict[str, dict[str, dict[str, Any]]] = {}
        for update in self.metadata_updates:
            target = merged.setdefault(update.user_id, {}).setdefault(update.kind, {})
            for key, value in update.value.items():
                if value is None:
                    target.pop(key, None)
                else:
                    target[key] = value
        return merged
