"""The customer explorer and the customer-360 page through the ASGI app (actions:
test_customer_actions.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from identa.container import Container
from identa.core.context import RequestContext
from identa.events.catalog import LogType
from identa.events.models import LogEvent
from identa.events.service import EventSubject
from tests.factories import create_user
from tests.http.console.conftest import ConsoleLogin
from tests.http.console.customer_data import (
    LOYALTY,
    emails_in,
    make_customers,
    page_url,
    rich_customer,
)

# -- the explorer --------------------------------------------------------------------------------


async def test_query_and_text_box_search(console_login: ConsoleLogin, container: Container) -> None:
    session = await console_login("analyst")
    await create_user(
        container,
        "ada@shop.example",
        name="Ada Lovelace",
        user_metadata={"gender": "female", "age": 36},
    )
    await create_user(
        container, "bob@shop.example", name="Bob Stone", user_metadata={"gender": "male", "age": 25}
    )
    await create_user(
        container,
        "carl@other.example",
        name="Carl Stone",
        user_metadata={"gender": "male", "age": 52},
    )
    by_query = await session.client.get(
        "/console/customers",
        params={"q": "user_metadata.gender:male AND user_metadata.age:[20 TO 40]"},
    )
    assert by_query.status_code == 200
    assert emails_in(by_query.text) == ["bob@shop.example"]
    assert "<strong>1</strong>" in by_query.text
    by_fragment = await session.client.get("/console/customers", params={"text": "STONE"})
    assert sorted(emails_in(by_fragment.text)) == ["bob@shop.example", "carl@other.example"]
    by_domain = await session.client.get("/console/customers", params={"text": "other.exam"})
    assert emails_in(by_domain.text) == ["carl@other.example"]
    both = await session.client.get(
        "/console/customers", params={"text": "stone", "q": "user_metadata.age:>40"}
    )
    assert emails_in(both.text) == ["carl@other.example"]
    odd = await session.client.get("/console/customers", params={"text": 'a(b"c:'})
    assert odd.status_code == 200 and emails_in(odd.text) == []


async def test_sort_and_columns_are_kept_in_the_query_string(
    console_login: ConsoleLogin, container: Container
) -> None:
    session = await console_login("support")
    for email, name in (("b@s.example", "Zed"), ("a@s.example", "Mia"), ("c@s.example", "Abe")):
        await create_user(container, email, name=name)
    ascending = await session.client.get(
        "/console/customers", params={"sort": "email", "dir": "asc", "col": ["email", "logins"]}
    )
    assert emails_in(ascending.text) == ["a@s.example", "b@s.example", "c@s.example"]
    assert ">Logins</th>" in ascending.text and ">Country</th>" not in ascending.text
    assert ">Name</th>" not in ascending.text
    by_name = await session.client.get(
        "/console/customers", params={"sort": "name", "dir": "desc", "col": ["email", "name"]}
    )
    assert emails_in(by_name.text) == ["b@s.example", "a@s.example", "c@s.example"]
    assert ">Name</th>" in by_name.text
    # The form shows the choices again.
    assert '<option value="name" selected>' in by_name.text
    assert 'name="col" value="name" checked' in by_name.text
    assert 'name="col" value="country">' in by_name.text


@pytest.mark.parametrize(
    ("sort", "direction"),
    [("name", "asc"), ("name", "desc"), ("last_login", "desc"), ("created", "asc")],
)
async def test_checkpoint_paging_reaches_every_customer(
    console_login: ConsoleLogin, container: Container, sort: str, direction: str
) -> None:
    session = await console_login("admin")
    for i in range(23):
        # Every third has no name; several share one, so the user_id breaks ties.
        name = None if i % 3 == 0 else f"Name {i % 4}"
        await create_user(container, f"p{i:02d}@page.example", name=name)
    async with container.unit_of_work() as uow:
        for n, user_id in enumerate(
            (await uow.session.scalars(select(LogEvent.user_id).where(LogEvent.type == "ss"))).all()
        ):
            user = await container.users.find(uow.session, user_id or "")
            if user is not None and n % 2:
                user.last_login = container.clock.now() - timedelta(hours=n % 5)
        await uow.commit()
    seen: list[str] = []
    url: str | None = f"/console/customers?sort={sort}&dir={direction}&take=10&col=email"
    pages = 0
    while url:
        answer = await session.client.get(url.replace("&amp;", "&"))
        assert answer.status_code == 200, answer.text
        seen.extend(emails_in(answer.text))
        found = re.search(
            r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#results" '
            r'hx-push-url="true" rel="next">',
            answer.text,
        )
        url = found.group(1) if found else None
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(f"p{i:02d}@page.example" for i in range(23))
    assert len(seen) == len(set(seen))
    assert "Showing 21–23 of" in answer.text


async def test_invalid_query_and_checkpoint_say_what_is_wrong(console_login: ConsoleLogin) -> None:
    session = await console_login("analyst")
    page = await session.client.get("/console/customers", params={"q": "name:(ada"})
    assert page.status_code == 400
    assert "The search is not valid" in page.text
    unknown = await session.client.get("/console/customers", params={"q": "shoe:42"})
    assert unknown.status_code == 400 and "shoe" in unknown.text
    swapped = await session.client.get(
        "/console/customers?q=name%3A%28ada", headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert swapped.status_code == 200
    assert "The search is not valid" in swapped.text and "<form" not in swapped.text
    bad_page = await session.client.get("/console/customers", params={"from": "not-a-checkpoint"})
    assert bad_page.status_code == 400
    assert "start again from the first page" in bad_page.text


async def test_htmx_swaps_only_the_results(
    console_login: ConsoleLogin, container: Container
) -> None:
    session = await console_login("analyst")
    await make_customers(container, 2)
    answer = await session.client.get(
        "/console/customers?text=c01", headers={"HX-Request": "true", "HX-Target": "results"}
    )
    assert answer.status_code == 200
    assert emails_in(answer.text) == ["c01@shop.example"]
    assert "<html" not in answer.text and "<form" not in answer.text


async def test_total_says_when_it_is_capped(
    console_login: ConsoleLogin, container: Container
) -> None:
    session = await console_login("analyst")
    await make_customers(container, 4)
    object.__setattr__(container.settings, "user_search_count_limit", 3)
    page = await session.client.get("/console/customers", params={"take": "10"})
    assert "<strong>3+</strong>" in page.text and "the count stops there" in page.text
    assert len(emails_in(page.text)) == 4


# -- the customer-360 page -----------------------------------------------------------------------


async def test_customer_360_shows_everything_but_idp_tokens(
    console_login: ConsoleLogin, container: Container
) -> None:
    session = await console_login("analyst")
    customer = await rich_customer(container)
    page = await session.client.get(page_url(customer["user_id"]))
    assert page.status_code == 200, page.text
    html = page.text
    for expected in (
        "Rita Runner",
        "runner@shop.example",
        LOYALTY,
        "rita.loyal@shop.example",  # the secondary's profileData
        "Your shoe size",
        "London, United Kingdom",
        "Paris, France",
        "Chrome on Windows (desktop)",
        "I love these shoes",
        "Delivery was awful",
        "Rita fans",
        "&#34;shoe_size&#34;: 38",  # user_metadata, pretty JSON
        "&#34;sentiment&#34;",  # app_metadata mirror
        "Email not verified",
    ):
        assert expected in html, expected
    assert "Nobody" not in html
    assert "idp-secret-token" not in html and "access_token" not in html
    # Analysts see the actions, disabled.
    assert re.search(r"<button type=\"submit\" disabled>Block</button>", html)
    assert 'href="' + page_url(customer["user_id"]) + '/delete"' not in html


async def test_timeline_is_paged(console_login: ConsoleLogin, container: Container) -> None:
    session = await console_login("analyst")
    customer = await create_user(container, "busy@shop.example")
    async with container.unit_of_work() as uow:
        for _ in range(25):
            container.events.record(
                uow.session,
                LogType.FAILED_LOGIN_PASSWORD,
                subject=EventSubject(user_id=customer["user_id"], user_name="busy@shop.example"),
                request=RequestContext(ip="192.0.2.7"),
            )
        await uow.commit()
    first = await session.client.get(page_url(customer["user_id"]))
    assert "(26 events)" in first.text and "Page 1 of 2" in first.text
    assert first.text.count('<code class="outcome-failure">fp</code>') == 20
    second = await session.client.get(page_url(customer["user_id"]) + "?log_page=2")
    assert "Page 2 of 2" in second.text
    assert second.text.count('<code class="outcome-failure">fp</code>') == 5
    assert '<code class="">ss</code>' in second.text


async def test_unknown_customer_page(console_login: ConsoleLogin) -> None:
    session = await console_login("analyst")
    page = await session.client.get(page_url("auth0|nobody"))
    assert page.status_code == 404 and "Customer not found" in page.text
