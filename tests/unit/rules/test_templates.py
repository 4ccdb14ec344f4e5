"""Every rule template, in both its Python and JavaScript forms, against local stand-ins."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from identa.rules.runtime import RuleRunner, RuleSpec, RunOutcome
from identa.rules.service import check_syntax
from identa.rules.templates import TEMPLATES, template
from tests.standins import salesforce as sf
from tests.standins.census import PATH as CENSUS_PATH
from tests.standins.census import CensusStandin
from tests.standins.fullcontact import API_KEY, FullContactStandin
from tests.standins.sentiment import SECRET_TOKEN, SentimentStandin
from tests.standins.webhook import TOKEN as HOOK_TOKEN
from tests.standins.webhook import WebhookStandin
from tests.unit.rules.conftest import CONTEXT, USER

RUNTIMES = ["python", "javascript"]


@pytest.fixture(scope="module")
def standins() -> Iterator[dict[str, Any]]:
    servers: dict[str, Any] = {
        "fullcontact": FullContactStandin(),
        "census": CensusStandin(),
        "sentiment": SentimentStandin(),
        "salesforce": SalesforceStandin(),
        "webhook": WebhookStandin(),
    }
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


SalesforceStandin = sf.SalesforceStandin


async def run_template(
    runner: RuleRunner,
    template_id: str,
    runtime: str,
    *,
    user: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    configuration: dict[str, str] | None = None,
    hosts: list[str] | None = None,
) -> RunOutcome:
    script = template(template_id).script(runtime)
    return await runner.run(
        [RuleSpec(id="rul_t", name=template_id, script=script, runtime=runtime)],
        copy.deepcopy(user or USER),
        copy.deepcopy(context or CONTEXT),
        configuration or {},
        budget_s=8.0,
        allowed_hosts=hosts,
    )


def test_catalogue_is_complete_and_parses() -> None:
    ids = {t.id for t in TEMPLATES}
    assert ids == {
        "link-users-by-email", "email-verified", "add-roles-claims", "deny-ip-or-country",
        "get-fullcontact-profile", "add-income", "tweet-sentiment", "creates-lead-salesforce",
        "login-webhook",
    }  # fmt: skip
    for item in TEMPLATES:
        check_syntax(item.python, "python")
        check_syntax(item.javascript, "javascript")


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_link_users_by_email(runner: RuleRunner, runtime: str) -> None:
    context = dict(CONTEXT, identa={"usersWithSameEmail": [
        {"user_id": "google-oauth2|9", "email_verified": True},
        {"user_id": "auth0|unverified", "email_verified": False},
    ]})  # fmt: skip
    outcome = await run_template(runner, "link-users-by-email", runtime, context=context)
    assert outcome.status == "continue", outcome.error
    assert outcome.context["primaryUser"] == "google-oauth2|9"
    several = dict(CONTEXT, identa={"usersWithSameEmail": [
        {"user_id": "a|1", "email_verified": True}, {"user_id": "b|2", "email_verified": True},
    ]})  # fmt: skip
    outcome = await run_template(runner, "link-users-by-email", runtime, context=several)
    assert outcome.status == "error" and "Multiple user profiles" in str(outcome.error)


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_email_verified(runner: RuleRunner, runtime: str) -> None:
    assert (await run_template(runner, "email-verified", runtime)).status == "continue"
    outcome = await run_template(
        runner, "email-verified", runtime, user=dict(USER, email_verified=False)
    )
    assert outcome.denied == "Please verify your email before logging in."


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_add_roles_claims(runner: RuleRunner, runtime: str) -> None:
    outcome = await run_template(
        runner, "add-roles-claims", runtime,
        configuration={"CLAIMS_NAMESPACE": "https://shop.example/", "DEFAULT_ROLE": "customer"},
    )  # fmt: skip
    assert outcome.status == "continue", outcome.error
    assert outcome.id_token_claims["https://shop.example/roles"] == ["customer"]
    assert outcome.access_token_claims["https://shop.example/email"] == USER["email"]
    [update] = outcome.metadata_updates
    assert update.kind == "app_metadata" and update.value["roles"] == ["customer"]


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_deny_ip_or_country(runner: RuleRunner, runtime: str) -> None:
    configuration = {"DENY_IP_RANGES": "198.51.100.0/24, 203.0.113.0/28", "DENY_COUNTRIES": "XX"}
    outcome = await run_template(runner, "deny-ip-or-country", runtime, configuration=configuration)
    assert outcome.denied == "Access denied from your network."  # 203.0.113.5
    allowed = copy.deepcopy(CONTEXT)
    allowed["request"]["ip"] = "203.0.113.200"
    outcome = await run_template(
        runner, "deny-ip-or-country", runtime, context=allowed, configuration=configuration
    )
    assert outcome.status == "continue"
    allowed["request"]["geoip"] = {"country_code": "xx"}
    outcome = await run_template(
        runner, "deny-ip-or-country", runtime, context=allowed, configuration=configuration
    )
    assert outcome.denied == "Access denied from your country."


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_fullcontact_enrichment(
    runner: RuleRunner, runtime: str, standins: dict[str, Any]
) -> None:
    server = standins["fullcontact"]
    configuration = {"FULLCONTACT_KEY": API_KEY, "FULLCONTACT_URL": server.url + "/v2/person.json"}
    outcome = await run_template(
        runner, "get-fullcontact-profile", runtime, configuration=configuration,
        hosts=[server.host],
    )  # fmt: skip
    assert outcome.status == "continue", outcome.error
    [update] = outcome.metadata_updates
    assert update.value["fullcontact"]["demographics"]["gender"] == "Male"
    unknown = dict(USER, email="nobody@example.com")
    outcome = await run_template(
        runner, "get-fullcontact-profile", runtime, user=unknown, configuration=configuration,
        hosts=[server.host],
    )  # fmt: skip
    assert outcome.status == "continue" and outcome.metadata_updates == []  # 404 swallowed


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_median_income_by_zip(
    runner: RuleRunner, runtime: str, standins: dict[str, Any]
) -> None:
    server = standins["census"]
    configuration = {"CENSUS_URL": server.url + CENSUS_PATH, "CENSUS_KEY": "k"}
    context = copy.deepcopy(CONTEXT)
    context["request"]["geoip"] = {"postal_code": "94103"}
    outcome = await run_template(
        runner, "add-income", runtime, context=context, configuration=configuration,
        hosts=[server.host],
    )  # fmt: skip
    assert outcome.status == "continue", outcome.error
    [update] = outcome.metadata_updates
    assert update.value["median_household_income"] == 126831
    assert server.requests[-1].query["for"] == "zip code tabulation area:94103"
    unknown = dict(USER, user_metadata={"zip_code": "00000"})
    outcome = await run_template(
        runner, "add-income", runtime, user=unknown, configuration=configuration,
        hosts=[server.host],
    )  # fmt: skip
    assert outcome.status == "continue" and outcome.metadata_updates == []


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_tweet_sentiment(runner: RuleRunner, runtime: str, standins: dict[str, Any]) -> None:
    server = standins["sentiment"]
    user = dict(USER, user_metadata={"fullcontact": {"socialProfiles": [
        {"type": "facebook", "username": "fb"}, {"type": "twitter", "username": "angry_runner"},
    ]}})  # fmt: skip
    outcome = await run_template(
        runner, "tweet-sentiment", runtime, user=user,
        configuration={"SENTIMENT_URL": server.url + "/analyze", "SENTIMENT_TOKEN": SECRET_TOKEN},
        hosts=[server.host],
    )  # fmt: skip
    assert outcome.status == "continue", outcome.error
    [update] = outcome.metadata_updates
    assert update.value["sentiment"] == {"label": "negative", "score": -0.6}
    assert update.value["sentiment_initialized"] is True


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_salesforce_lead_on_first_login(
    runner: RuleRunner, runtime: str, standins: dict[str, Any]
) -> None:
    server = standins["salesforce"]
    configuration = {
        "SALESFORCE_LOGIN_URL": server.url, "SALESFORCE_CLIENT_ID": sf.CLIENT_ID,
        "SALESFORCE_CLIENT_SECRET": sf.CLIENT_SECRET, "SALESFORCE_USERNAME": sf.USERNAME,
        "SALESFORCE_PASSWORD": sf.PASSWORD, "SALESFORCE_COMPANY": "InnovaShoes",
    }  # fmt: skip
    first = dict(CONTEXT, stats={"loginsCount": 1})
    outcome = await run_template(
        runner, "creates-lead-salesforce", runtime, context=first, configuration=configuration,
        hosts=[server.host],
    )  # fmt: skip
    assert outcome.status == "continue", outcome.error
    [update] = outcome.metadata_updates
    assert update.value["recordedAsLead"] is True
    lead = server.leads[-1]
    assert lead["Id"] == update.value["salesforce_lead_id"]
    assert (lead["Email"], lead["Company"]) == (USER["email"], "InnovaShoes")
    later = await run_template(
        runner, "creates-lead-salesforce", runtime, configuration=configuration,
        hosts=[server.host],
    )  # fmt: skip
    assert later.status == "continue" and later.metadata_updates == []  # loginsCount 3
    wrong = dict(configuration, SALESFORCE_PASSWORD="nope")
    failed = await run_template(
        runner, "creates-lead-salesforce", runtime, context=first, configuration=wrong,
        hosts=[server.host],
    )  # fmt: skip
    assert failed.status == "continue" and failed.metadata_updates == []


@pytest.mark.parametrize("runtime", RUNTIMES)
async def test_login_webhook(runner: RuleRunner, runtime: str, standins: dict[str, Any]) -> None:
    server = standins["webhook"]
    configuration = {"WEBHOOK_URL": server.url + "/hooks/login", "WEBHOOK_TOKEN": HOOK_TOKEN}
    outcome = await run_template(
        runner, "login-webhook", runtime, configuration=configuration, hosts=[server.host]
    )
    assert outcome.status == "continue", outcome.error
    event = server.received[-1]
    assert (event["user_id"], event["client_id"], event["ip"]) == (
        "auth0|u1",
        "client1",
        "203.0.113.5",
    )
    assert event["logins_count"] == 3 and event["type"] == "login"
    down = await run_template(
        runner, "login-webhook", runtime,
        configuration={"WEBHOOK_URL": "http://127.0.0.1:9/hooks/login"}, hosts=["127.0.0.1:9"],
    )  # fmt: skip
    assert down.status == "continue"
