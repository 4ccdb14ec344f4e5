"""Storing rules: names and order per Auth0, the runtime told by the script when not given."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from identa.core import ids
from identa.core.clock import Clock
from identa.core.errors import Conflict, InvalidInput, NotFound
from identa.core.secretbox import SecretBox
from identa.rules.models import Rule, RuleConfig
from identa.rules.syntax import RuleSyntaxError, check_syntax

__all__ = ["RuleNotFound", "RuleService", "RuleSyntaxError", "check_syntax", "detect_runtime"]

NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9 \-]*[A-Za-z0-9])?$")
RUNTIMES = ("javascript", "python")
STAGES = ("login_success", "login_failure", "pre_authorize")
MAX_SCRIPT = 100 * 1024
CONFIG_KEY = re.compile(r"^[A-Za-z0-9_\-@*+:]{1,127}$")


class RuleNotFound(NotFound):
    code = "inexistent_rule"


def detect_runtime(script: str) -> str:
    """Auth0's rules are JavaScript functions; anything else is taken to be Python."""
    return "javascript" if script.lstrip().startswith(("function", "async function")) else "python"


# The SecretBox purpose of rules-configs values (the migration that sealed them uses it too).
CONFIG_PURPOSE = "rules-configs"


class RuleService:
    def __init__(self, clock: Clock, box: SecretBox) -> None:
        self._clock = clock
        # rules-configs values are stored sealed; only `configuration()` opens them.
        self._box = box

    async def all(self, db: AsyncSession, *, enabled: bool | None = None) -> Sequence[Rule]:
        query = select(Rule).order_by(Rule.order, Rule.name)
        if enabled is not None:
            query = query.where(Rule.enabled.is_(enabled))
        return (await db.scalars(query)).all()

    async def get(self, db: AsyncSession, rule_id: str) -> Rule:
        rule = await db.get(Rule, rule_id) if len(rule_id) <= 32 else None
        if rule is None:
            raise RuleNotFound("The rule does not exist.")
        return rule

    def _check(
        self,
        *,
        name: str | None = None,
        script: str | None = None,
        runtime: str | None = None,
        order: object = None,
    ) -> None:
        if name is not None and (len(name) > 255 or not NAME.match(name)):
            raise InvalidInput(
                "name may contain letters, digits, spaces and '-', and may not "
                "start or end with a space or '-'"
            )
        if script is not None and (not script.strip() or len(script.encode()) > MAX_SCRIPT):
            raise InvalidInput("script must be 1 byte to 100 KB")
        if runtime is not None and runtime not in RUNTIMES:
            raise InvalidInput("runtime must be javascript or python")
        if order is not None and (
            not isinstance(order, int) or isinstance(order, bool) or order < 0
        ):
            raise InvalidInput("order must be a non-negative integer")

    async def create(
        self,
        db: AsyncSession,
        *,
        name: str,
        script: str,
        order: int | None = None,
        enabled: bool = True,
        runtime: str | None = None,
        stage: str = "login_success",
        fail_open: bool = False,
    ) -> Rule:
        self._check(name=name, script=script, runtime=runtime, order=order)
        check_syntax(script, runtime or detect_runtime(script))
        if stage not in STAGES:
            raise InvalidInput(f"stage must be one of {', '.join(STAGES)}")
        if await db.scalar(select(Rule.id).where(Rule.name == name)) is not None:
            raise Conflict("A rule with the same name already exists")
        if order is None:
            highest = await db.scalar(select(func.max(Rule.order)))
            order = (highest or 0) + 1
        now = self._clock.now()
        rule = Rule(
            id="rul_" + ids.random_alnum(16),
            name=name,
            script=script,
            order=order,
            enabled=enabled,
            runtime=runtime or detect_runtime(script),
            stage=stage,
            fail_open=fail_open,
            created_at=now,
            updated_at=now,
        )
        db.add(rule)
        await db.flush()
        return rule

    async def update(
        self,
        db: AsyncSession,
        rule: Rule,
        *,
        name: str | None = None,
        script: str | None = None,
        order: int | None = None,
        enabled: bool | None = None,
        runtime: str | None = None,
        fail_open: bool | None = None,
    ) -> Rule:
        self._check(name=name, script=script, runtime=runtime, order=order)
        if script is not None or runtime is not None:
            new_script = script if script is not None else rule.script
            check_syntax(new_script, runtime or (rule.runtime if script is None else
                                                 detect_runtime(new_script)))  # fmt: skip
        if name is not None and name != rule.name:
            if await db.scalar(select(Rule.id).where(Rule.name == name)) is not None:
                raise Conflict("A rule with the same name already exists")
            rule.name = name
        if script is not None:
            rule.script = script
            if runtime is None:
                rule.runtime = detect_runtime(script)
        if runtime is not None:
            rule.runtime = runtime
        if order is not None:
            rule.order = order
        if enabled is not None:
            rule.enabled = enabled
        if fail_open is not None:
            rule.fail_open = fail_open
        rule.updated_at = self._clock.now()
        await db.flush()
        return rule

    async def delete(self, db: AsyncSession, rule: Rule) -> None:
        await db.delete(rule)
        await db.flush()

    async def config_keys(self, db: AsyncSession) -> list[str]:
        return list((await db.scalars(select(RuleConfig.key).order_by(RuleConfig.key))).all())

    async def set_config(self, db: AsyncSession, key: str, value: str) -> None:
        if not CONFIG_KEY.match(key):
            raise InvalidInput("key must be 1 to 127 characters: letters, digits, _-@*+:")
        if len(value) > 64 * 1024:
            raise InvalidInput("value must be at most 64 KB")
        sealed = self._box.seal(value)
        row = await db.get(RuleConfig, key)
        if row is None:
            db.add(RuleConfig(key=key, value=sealed, updated_at=self._clock.now()))
        else:
            row.value = sealed
            row.updated_at = self._clock.now()
        await db.flush()

    async def delete_config(self, db: AsyncSession, key: str) -> None:
        row = await db.get(RuleConfig, key[:127])
        if row is not None:
            await db.delete(row)
            await db.flush()

    async def configuration(self, db: AsyncSession) -> dict[str, str]:
        """The values the rules see as `configuration`, opened. A value that cannot be opened
        (sealed under another secret key) is left out rather than handed over sealed."""
        out: dict[str, str] = {}
        for row in (await db.scalars(select(RuleConfig))).all():
            clear = self._box.open(row.value)
            if clear is not None:
                out[row.key] = clear
        return out
