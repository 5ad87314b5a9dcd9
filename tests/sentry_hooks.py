"""Sentry's hook payloads as Sentry documents them, shared by the parser's and the
endpoint's tests."""

from __future__ import annotations

from typing import Any


def sentry_metric_alert(action: str, incident: str = "4") -> dict[str, Any]:
    """Sentry's documented metric-alert hook (docs: integration-platform/webhooks/metric-alerts)."""
    return {
        "action": action,
        "actor": {"id": "sentry", "name": "Sentry", "type": "application"},
        "data": {
            "description_text": "1000 events in the last 10 minutes\\nFilter: level:error",
            "description_title": f"{action.capitalize()}: Too many errors",
            "metric_alert": {
                "alert_rule": {
                    "aggregate": "count()",
                    "dataset": "events",
                    "id": "7",
                    "name": "Too many errors",
                    "projects": ["bar"],
                    "query": "level:error",
                    "time_window": 10,
                    "triggers": [],
                },
                "date_closed": None,
                "date_started": "2020-09-13T12:26:40.000000Z",
                "id": incident,
                "identifier": "1",
                "projects": ["bar"],
                "status": 2,
                "title": "Sacred Marmot",
            },
            "web_url": "https://sentry.io/organizations/baz/alerts/1/",
        },
        "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
    }
