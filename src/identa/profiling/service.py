"""Questions, the policy of when to ask them, and saving answers into `user_metadata`.

Policy (tenant setting `profiling_policy`): ask from the `start_at_login`-th login on, at most
`max_questions` per login, never a question already answered (its path holds a value), and a
declined question again only `decline_days` after it was declined.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.core import ids
from identa.core.clock import Clock
from identa.core.errors import InvalidInput, NotFound
from identa.identity.models import User
from identa.identity.service import UserService
from identa.profiling.models import ProfilingDecline, ProfilingQuestion
from identa.tenants.service import TenantService

TYPES = ("text", "number", "date", "choice", "multi-choice", "boolean")
PATH = re.compile(r"^[A-Za-z0-9_\-]{1,64}(\.[A-Za-z0-9_\-]{1,64}){0,4}$")
DEFAULT_POLICY: dict[str, Any] = {
    "enabled": True,
    "start_at_login": 1,
    "max_questions": 1,
    "decline_days": 30,
}
POLICY_LIMITS = {"start_at_login": (1, 10_000), "max_questions": (1, 20), "decline_days": (0, 3650)}
MAX_TEXT = 500


class QuestionNotFound(NotFound):
    code = "inexistent_question"


def read_path(metadata: dict[str, Any] | None, path: str) -> Any:
    node: Any = metadata or {}
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def top_level_patch(metadata: dict[str, Any] | None, answers: dict[str, Any]) -> dict[str, Any]:
    """A top-level user_metadata patch that sets each dotted path and keeps its siblings."""
    patch: dict[str, Any] = {}
    for path, value in answers.items():
        head, *rest = path.split(".")
        if not rest:
            patch[head] = value
            continue
        base = patch.get(head)
        if not isinstance(base, dict):
            current = (metadata or {}).get(head)
            base = copy.deepcopy(current) if isinstance(current, dict) else {}
        node = base
        for part in rest[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[rest[-1]] = value
        patch[head] = base
    return patch


def parse_answer(question: ProfilingQuestion, raw: str | list[str]) -> Any:
    """The typed value of a form answer; raises InvalidInput with a message for the person."""
    values = raw if isinstance(raw, list) else [raw]
    text = values[0].strip() if values else ""
    kind = question.type
    if kind == "multi-choice":
        chosen = [v for v in values if v in (question.options or [])]
        if len(chosen) != len(values):
            raise InvalidInput("Choose among the options shown.")
        return chosen
    if kind == "text":
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"Use at most {MAX_TEXT} characters.")
        return text
    if kind == "number":
        try:
            number = float(text)
        except ValueError as exc:
            raise InvalidInput("Enter a number.") from exc
        if number != number or abs(number) > 1e15:
            raise InvalidInput("Enter a number.")
        return int(number) if number.is_integer() else number
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError as exc:
            raise InvalidInput("Enter a date as YYYY-MM-DD.") from exc
    if kind == "choice":
        if text not in (question.options or []):
            raise InvalidInput("Choose one of the options shown.")
        return text
    if text not in ("true", "false"):
        raise InvalidInput("Answer yes or no.")
    return text == "true"


class ProfilingService:
    def __init__(self, clock: Clock, tenants: TenantService, users: UserService) -> None:
        self._clock = clock
        self.tenants = tenants
        self.users = users

    # -- policy ----------------------------------------------------------------------------

    async def policy(self, db: AsyncSession) -> dict[str, Any]:
        tenant = await self.tenants.get(db)
        stored = tenant.extra.get("profiling_policy")
        return {**DEFAULT_POLICY, **(stored if isinstance(stored, dict) else {})}

    async def set_policy(self, db: AsyncSession, changes: dict[str, Any]) -> dict[str, Any]:
        policy = await self.policy(db)
        for key, value in changes.items():
            if key == "enabled":
                if not isinstance(value, bool):
                    raise InvalidInput("enabled must be a boolean")
            elif key in POLICY_LIMITS:
                low, high = POLICY_LIMITS[key]
                if (
                    not isinstance(value, int)
                    or isinstance(value, bool)
                    or not low <= value <= high
                ):
                    raise InvalidInput(f"{key} must be an integer from {low} to {high}")
            else:
                raise InvalidInput(f"unknown policy setting: {key}")
            policy[key] = value
        tenant = await self.tenants.get(db)
        await self.tenants.update(db, extra={**tenant.extra, "profiling_policy": policy})
        return policy

    # -- questions -------------------------------------------------------------------------

    async def questions(self, db: AsyncSession) -> Sequence[ProfilingQuestion]:
        query = select(ProfilingQuestion).order_by(
            ProfilingQuestion.position, ProfilingQuestion.created_at
        )
        return (await db.scalars(query)).all()

    async def get(self, db: AsyncSession, question_id: str) -> ProfilingQuestion:
        row = await db.get(ProfilingQuestion, question_id) if len(question_id) <= 32 else None
        if row is None:
            raise QuestionNotFound("The question does not exist.")
        return row

    @staticmethod
    def _check(fields: dict[str, Any], kind: str) -> None:
        path = fields.get("path")
        if path is not None and (not isinstance(path, str) or not PATH.match(path)):
            raise InvalidInput("path must be a dotted user_metadata path such as 'shoe.size'")
        label = fields.get("label")
        if label is not None and (not isinstance(label, str) or not 1 <= len(label) <= 255):
            raise InvalidInput("label must be 1 to 255 characters")
        if kind not in TYPES:
            raise InvalidInput(f"type must be one of {', '.join(TYPES)}")
        options = fields.get("options")
        if options is not None and (
            not isinstance(options, list)
            or len(options) > 50
            or not all(isinstance(o, str) and 0 < len(o) <= 100 for o in options)
        ):
            raise InvalidInput("options must be a list of up to 50 strings")
        clients = fields.get("client_ids")
        if clients is not None and (
            not isinstance(clients, list) or not all(isinstance(c, str) for c in clients)
        ):
            raise InvalidInput("client_ids must be a list of client ids, or null for all")
        position = fields.get("position")
        if position is not None and (not isinstance(position, int) or isinstance(position, bool)):
            raise InvalidInput("position must be an integer")
        if "enabled" in fields and not isinstance(fields["enabled"], bool):
            raise InvalidInput("enabled must be a boolean")

    async def create(self, db: AsyncSession, fields: dict[str, Any]) -> ProfilingQuestion:
        unknown = set(fields) - {"path", "label", "type", "options", "client_ids", "position",
                                 "enabled"}  # fmt: skip
        if unknown:
            raise InvalidInput(f"unknown properties: {', '.join(sorted(unknown))}")
        if not fields.get("path") or not fields.get("label"):
            raise InvalidInput("path and label are required")
        kind = fields.get("type", "text")
        self._check(fields, kind)
        options = list(fields.get("options") or [])
        if kind in ("choice", "multi-choice") and not options:
            raise InvalidInput("choice questions need options")
        position = fields.get("position")
        if position is None:
            position = (await db.scalar(select(func.max(ProfilingQuestion.position))) or 0) + 1
        now = self._clock.now()
        row = ProfilingQuestion(
            id="pq_" + ids.random_alnum(16),
            path=fields["path"],
            label=fields["label"],
            type=kind,
            options=options,
            client_ids=fields.get("client_ids"),
            position=position,
            enabled=fields.get("enabled", True),
            created_at=now,
            updated_at=now,
        )
        db.add(row)
        await db.flush()
        return row

    async def update(
        self, db: AsyncSession, row: ProfilingQuestion, fields: dict[str, Any]
    ) -> ProfilingQuestion:
        unknown = set(fields) - {"path", "label", "type", "options", "client_ids", "position",
                                 "enabled"}  # fmt: skip
        if unknown:
            raise InvalidInput(f"unknown properties: {', '.join(sorted(unknown))}")
        kind = fields.get("type", row.type)
        self._check(fields, kind)
        for key, value in fields.items():
            setattr(row, key, value)
        if row.type in ("choice", "multi-choice") and not row.options:
            raise InvalidInput("choice questions need options")
        row.updated_at = self._clock.now()
        await db.flush()
        return row

    async def delete(self, db: AsyncSession, row: ProfilingQuestion) -> None:
        await db.execute(delete(ProfilingDecline).where(ProfilingDecline.question_id == row.id))
        await db.delete(row)
        await db.flush()

    # -- asking ----------------------------------------------------------------------------

    async def due(self, db: AsyncSession, user: User, client_id: str) -> list[ProfilingQuestion]:
        """The questions to ask at this login (after `record_login` counted it)."""
        policy = await self.policy(db)
        if not policy["enabled"] or (user.logins_count or 0) < policy["start_at_login"]:
            return []
        candidates = [
            q
            for q in await self.questions(db)
            if q.enabled
            and (q.client_ids is None or client_id in q.client_ids)
            and read_path(user.user_metadata, q.path) in (None, "", [])
        ]
        if not candidates:
            return []
        declined = {
            row.question_id: row.declined_at
            for row in await db.scalars(
                select(ProfilingDecline).where(ProfilingDecline.user_id == user.user_id)
            )
        }
        again = self._clock.now() - timedelta(days=policy["decline_days"])
        due = [q for q in candidates if q.id not in declined or declined[q.id] <= again]
        return due[: policy["max_questions"]]

    async def answer(
        self,
        db: AsyncSession,
        user: User,
        questions: list[ProfilingQuestion],
        answers: dict[str, str | list[str]],
        declined: set[str],
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Saves answers (dotted path -> value) and declines; returns (saved, errors by id)."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for question in questions:
            raw = answers.get(question.id)
            if question.id in declined or raw in (None, "", []):
                continue
            try:
                values[question.path] = parse_answer(question, raw or "")
            except InvalidInput as exc:
                errors[question.id] = exc.message
        if errors:
            return {}, errors
        if values:
            await self.users.patch_metadata(
                db, user, user_metadata=top_level_patch(user.user_metadata, values)
            )
        now = self._clock.now()
        for question in questions:
            if question.path in values:
                await db.execute(
                    delete(ProfilingDecline).where(
                        ProfilingDecline.user_id == user.user_id,
                        ProfilingDecline.question_id == question.id,
                    )
                )
                continue
            row = await db.get(ProfilingDecline, (user.user_id, question.id))
            if row is None:
                db.add(
                    ProfilingDecline(user_id=user.user_id, question_id=question.id, declined_at=now)
                )
            else:
                row.declined_at = now
        await db.flush()
        return values, {}
