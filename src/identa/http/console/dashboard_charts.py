"""The dashboard's figures turned into what its template shows: cards, Chart.js configurations
(drawn by static/console.js from each canvas's data-chart attribute), the retention heatmap and
the funnel steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from identa.enrichment.demographics import AGE_BANDS

# Colours that read on light and dark backgrounds alike.
PALETTE = (
    "#4f63e0",
    "#1fa57a",
    "#e8833a",
    "#c2410c",
    "#8b5cf6",
    "#0ea5e9",
    "#d946ef",
    "#64748b",
    "#eab308",
    "#14b8a6",
)
BREAKDOWNS = (
    ("connection", "Connection"),
    ("country", "Country"),
    ("device", "Device type"),
    ("browser", "Browser"),
    ("os", "Operating system"),
    ("gender", "Gender"),
    ("age_band", "Age band"),
    ("interest", "Interest"),
)
ROUND_CHARTS = frozenset({"connection", "device", "gender"})
BREAKDOWN_VALUES = 10
RETENTION_WEEKS = 13


@dataclass
class Card:
    key: str
    label: str
    value: int
    note: str = ""


@dataclass
class Breakdown:
    key: str
    title: str
    chart: dict[str, Any]
    rows: list[dict[str, Any]]


@dataclass
class Cohort:
    week: str
    size: int
    cells: list[dict[str, Any]]


@dataclass
class DashboardView:
    cards: list[Card]
    active_cards: list[Card]
    daily_chart: dict[str, Any]
    active_chart: dict[str, Any]
    funnel_chart: dict[str, Any]
    funnel: list[dict[str, Any]]
    retention: list[Cohort]
    retention_weeks: int
    breakdowns: list[Breakdown] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)


def _options(*, legend: bool = True, stacked: bool = False, horizontal: bool = False) -> Any:
    scale = {"beginAtZero": True, "ticks": {"precision": 0}, "stacked": stacked}
    options: dict[str, Any] = {
        "maintainAspectRatio": False,
        "animation": False,
        "interaction": {"mode": "index", "intersect": False},
        "plugins": {"legend": {"display": legend, "position": "bottom"}},
        "scales": {"x": {"stacked": stacked}, "y": scale},
    }
    if horizontal:
        options["indexAxis"] = "y"
        # Every category gets its label (Chart.js would skip every other one when tight).
        options["scales"] = {"x": scale, "y": {"stacked": stacked, "ticks": {"autoSkip": False}}}
    return options


def _line(label: str, values: list[int], colour: str) -> dict[str, Any]:
    return {
        "label": label,
        "data": values,
        "borderColor": colour,
        "backgroundColor": colour + "33",
        "pointRadius": 0,
        "borderWidth": 2,
        "tension": 0.25,
        "fill": False,
    }


def daily_chart(daily: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "line",
        "data": {
            "labels": [d["date"] for d in daily],
            "datasets": [
                _line("Logins", [d["logins"] for d in daily], PALETTE[0]),
                _line("Sign-ups", [d["signups"] for d in daily], PALETTE[1]),
                _line("Active customers", [d["active"] for d in daily], PALETTE[2]),
            ],
        },
        "options": _options(),
    }


def active_chart(active: dict[str, Any]) -> dict[str, Any]:
    weekly = active["weekly"]
    return {
        "type": "bar",
        "data": {
            "labels": [w["week"] for w in weekly],
            "datasets": [
                {
                    "label": "Weekly active customers (week starting)",
                    "data": [w["active"] for w in weekly],
                    "backgroundColor": PALETTE[4],
                }
            ],
        },
        "options": _options(legend=False),
    }


def _age_order(row: dict[str, Any]) -> int:
    """Age bands read youngest to oldest, 'unknown' last, rather than by count."""
    names = [name for _low, _high, name in AGE_BANDS]
    return names.index(row["value"]) if row["value"] in names else len(names)


def _breakdown(key: str, title: str, rows: list[dict[str, Any]]) -> Breakdown:
    shown = rows[:BREAKDOWN_VALUES]
    if key == "age_band":
        shown = sorted(shown, key=_age_order)
    labels = [r["value"] for r in shown]
    if key in ROUND_CHARTS:
        chart: dict[str, Any] = {
            "type": "doughnut",
            "data": {
                "labels": labels,
                "datasets": [
                    {
                        "label": "Logins",
                        "data": [r["logins"] for r in shown],
                        "backgroundColor": [PALETTE[i % len(PALETTE)] for i in range(len(shown))],
                    }
                ],
            },
            "options": {
                "maintainAspectRatio": False,
                "animation": False,
                "plugins": {"legend": {"position": "bottom"}},
            },
        }
    else:
        chart = {
            "type": "bar",
            "data": {
                "labels": labels,
                "datasets": [
                    {
                        "label": "Logins",
                        "data": [r["logins"] for r in shown],
                        "backgroundColor": PALETTE[0],
                    },
                    {
                        "label": "Sign-ups",
                        "data": [r["signups"] for r in shown],
                        "backgroundColor": PALETTE[1],
                    },
                ],
            },
            "options": _options(horizontal=True),
        }
    return Breakdown(key=key, title=title, chart=chart, rows=shown)


def _heat(rate: float) -> int:
    """A heatmap shade from 0 (none) to 10 (everyone came back)."""
    return max(0, min(10, round(rate * 10)))


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def dashboard_view(body: dict[str, Any]) -> DashboardView:
    """`body` is figures.dashboard's answer."""
    customers = body["customers"]
    funnel = body["funnel"]
    active = body["active"]
    daily = body["daily"]
    inactive = customers["inactive"]
    cards = [
        Card("total", "Total customers", customers["total"]),
        Card("active_30d", "Active in the last 30 days", customers["active_30d"]),
        Card("signups", "New sign-ups", funnel["signed_up"], "in the range"),
        Card(
            "never_returned",
            "Never returned",
            funnel["never_returned"],
            f"{_percent(funnel['never_returned'], funnel['signed_up'])} of the range's sign-ups",
        ),
        Card("inactive", f"Inactive for {inactive['days']} days or more", inactive["count"]),
    ]
    active_cards = [
        Card("dau", "Daily active", active["dau"], f"on {body['to']}"),
        Card("wau", "Weekly active", active["wau"], "that calendar week"),
        Card("mau", "Monthly active", active["mau"], "that calendar month"),
    ]
    steps = [
        ("Signed up", funnel["signed_up"]),
        ("2nd login", funnel["second_login"]),
        ("5th login", funnel["fifth_login"]),
    ]
    funnel_rows = [
        {"label": label, "count": n, "share": _percent(n, funnel["signed_up"])}
        for label, n in steps
    ]
    funnel_chart = {
        "type": "bar",
        "data": {
            "labels": [label for label, _n in steps],
            "datasets": [
                {
                    "label": "Customers",
                    "data": [n for _label, n in steps],
                    "backgroundColor": [PALETTE[0], PALETTE[5], PALETTE[1]],
                }
            ],
        },
        "options": _options(legend=False, horizontal=True),
    }
    width = min(RETENTION_WEEKS, max((len(c["weeks"]) for c in body["retention"]), default=0))
    cohorts = [
        Cohort(
            week=c["cohort"],
            size=c["size"],
            cells=[
                {
                    "offset": w["offset"],
                    "customers": w["customers"],
                    "rate": f"{w['rate']:.0%}",
                    "heat": _heat(w["rate"]),
                }
                for w in c["weeks"][:width]
            ],
        )
        for c in body["retention"]
    ]
    return DashboardView(
        cards=cards,
        active_cards=active_cards,
        daily_chart=daily_chart(daily),
        active_chart=active_chart(active),
        funnel_chart=funnel_chart,
        funnel=funnel_rows,
        retention=cohorts,
        retention_weeks=width,
        breakdowns=[_breakdown(k, t, body["breakdowns"].get(k, [])) for k, t in BREAKDOWNS],
        totals={
            "logins": sum(d["logins"] for d in daily),
            "signups": sum(d["signups"] for d in daily),
        },
    )
