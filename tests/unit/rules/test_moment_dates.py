"""The rules' small `moment` reads the dates getAge is given: ISO dates (FullContact) and
Facebook's US birthday "MM/DD/YYYY", which V8's Date (Auth0's Node) parses and QuickJS's not."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from identa.rules.runtime import RuleRunner
from tests.unit.rules.conftest import USER, run
from tests.unit.rules.test_innovashoes import AGE_RULE


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@pytest.mark.parametrize("birthday", ["05/17/1992", "5/7/1992", "1992-05-17"])
async def test_get_age_reads_a_facebook_birthday(runner: RuleRunner, birthday: str) -> None:
    outcome = await run(runner, AGE_RULE, user=dict(USER, birthday=birthday))
    assert outcome.status == "continue", outcome.error
    month, day = (5, 17) if birthday != "5/7/1992" else (5, 7)
    expected = _age(date(1992, month, day), datetime.now(UTC).date())
    assert outcome.context["idToken"]["https://innovashoes.example/age"] == expected


async def test_a_date_it_cannot_read_gives_no_age(runner: RuleRunner) -> None:
    outcome = await run(runner, AGE_RULE, user=dict(USER, birthday="17th of May"))
    assert outcome.status == "continue", outcome.error
    assert outcome.context["idToken"]["https://innovashoes.example/age"] is None
