"""Auth0's password policy levels (none, low, fair, good, excellent) and their error shape."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

POLICY_LEVELS = ("none", "low", "fair", "good", "excellent")
DEFAULT_MIN_LENGTH = {"none": 1, "low": 6, "fair": 8, "good": 8, "excellent": 10}
SPECIAL_CHARACTERS = "!@#$%^&*"
_CHARACTER_TYPES: tuple[tuple[str, str], ...] = (
    ("lower case letters (a-z)", r"[a-z]"),
    ("upper case letters (A-Z)", r"[A-Z]"),
    ("numbers (i.e. 0-9)", r"[0-9]"),
    ("special characters (e.g. !@#$%^&*)", "[" + re.escape(SPECIAL_CHARACTERS) + "]"),
)


@dataclass
class PolicyRule:
    message: str
    verified: bool
    format: list[int | str] = field(default_factory=list)
    items: list[dict[str, Any]] | None = None
    code: str = ""

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message": self.message,
            "format": self.format,
            "verified": self.verified,
        }
        if self.items is not None:
            out["items"] = self.items
        if self.code:
            out["code"] = self.code
        return out


@dataclass
class PolicyReport:
    rules: list[PolicyRule]

    @property
    def verified(self) -> bool:
        return all(rule.verified for rule in self.rules)

    def as_description(self) -> dict[str, Any]:
        """The `description` object of Auth0's PasswordStrengthError."""
        return {"rules": [r.as_dict() for r in self.rules], "verified": self.verified}

    def human_messages(self) -> list[str]:
        out = []
        for rule in self.rules:
            if rule.verified:
                continue
            text = rule.message
            for value in rule.format:
                marker = "%d" if isinstance(value, int) else "%s"
                text = text.replace(marker, str(value), 1)
            if rule.items:
                text += " " + ", ".join(str(i["message"]) for i in rule.items)
            out.append(text)
        return out


@dataclass(frozen=True)
class PasswordPolicy:
    level: str = "good"
    min_length: int | None = None

    @classmethod
    def from_connection_options(cls, options: dict[str, Any], default_level: str) -> PasswordPolicy:
        level = options.get("passwordPolicy") or default_level
        if level not in POLICY_LEVELS:
            level = default_level
        complexity = options.get("password_complexity_options") or {}
        min_length = complexity.get("min_length") if isinstance(complexity, dict) else None
        return cls(level=level, min_length=min_length if isinstance(min_length, int) else None)

    @property
    def effective_min_length(self) -> int:
        return self.min_length or DEFAULT_MIN_LENGTH[self.level]

    def check(self, password: str) -> PolicyReport:
        rules: list[PolicyRule] = []
        if self.level == "none":
            rules.append(PolicyRule("Non-empty password required", verified=bool(password)))
            return PolicyReport(rules)
        min_len = self.effective_min_length
        rules.append(
            PolicyRule("At least %d characters in length", len(password) >= min_len, [min_len])
        )
        present = [bool(re.search(pattern, password)) for _, pattern in _CHARACTER_TYPES]
        if self.level == "fair":
            items = [
                {"message": label, "verified": ok}
                for (label, _), ok in zip(_CHARACTER_TYPES[:3], present[:3], strict=True)
            ]
            rules.append(
                PolicyRule(
                    "Contain at least %d of the following %d types of characters:",
                    all(present[:3]),
                    [3, 3],
                    items,
                )
            )
        elif self.level in ("good", "excellent"):
            items = [
                {"message": label, "verified": ok}
                for (label, _), ok in zip(_CHARACTER_TYPES, present, strict=True)
            ]
            rules.append(
                PolicyRule(
                    "Contain at least %d of the following %d types of characters:",
                    sum(present) >= 3,
                    [3, 4],
                    items,
                )
            )
        if self.level == "excellent":
            rules.append(
                PolicyRule(
                    'No more than %d identical characters in a row (e.g., "%s" not allowed)',
                    re.search(r"(.)\1\1", password) is None,
                    [2, "aaa"],
                )
            )
        return PolicyReport(rules)
