"""Chart.js configurations for a segment's member count over time (static/console.js draws
them from the canvas's data-chart attribute)."""

from __future__ import annotations

from typing import Any

LINE = "#4f63e0"


def _dataset(points: list[dict[str, Any]], *, small: bool) -> dict[str, Any]:
    return {
        "label": "Members",
        "data": [p["count"] for p in points],
        "borderColor": LINE,
        "backgroundColor": LINE + "22",
        "borderWidth": 2 if small else 2.5,
        "pointRadius": 0 if small and len(points) > 1 else 3,
        "fill": True,
        "tension": 0.2,
    }


def spark_chart(points: list[dict[str, Any]]) -> dict[str, Any]:
    """A tiny line without axes, for the list of segments."""
    return {
        "type": "line",
        "data": {"labels": [p["date"] for p in points], "datasets": [_dataset(points, small=True)]},
        "options": {
            "maintainAspectRatio": False,
            "animation": False,
            "events": [],
            "plugins": {"legend": {"display": False}, "tooltip": {"enabled": False}},
            "scales": {"x": {"display": False}, "y": {"display": False, "beginAtZero": True}},
        },
    }


def trend_chart(points: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "line",
        "data": {
            "labels": [p["date"] for p in points],
            "datasets": [_dataset(points, small=False)],
        },
        "options": {
            "maintainAspectRatio": False,
            "animation": False,
            "plugins": {"legend": {"display": False}},
            "scales": {"y": {"beginAtZero": True, "ticks": {"precision": 0}}},
        },
    }
