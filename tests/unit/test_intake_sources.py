"""Intake parsers, pure: each source's payload → IncomingAlerts, and the fingerprint that
joins repeats of one problem into one ticket.

Payloads are the shapes the senders document (Alertmanager 0.25's webhook, Sentry's
integration-platform hooks, PagerDuty Events API v2). The property tests feed every parser
arbitrary JSON and "almost valid" payloads: the only exception a parser may raise is
PayloadInvalid, which the HTTP layer turns into a 4xx; anything else would be a 500.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fireline.intake.alert import Action, IncomingAlert, PayloadInvalid
from fireline.intake.fingerprint import DEFAULT_FIELDS, MAX_KEY, fingerprint
from fireline.intake.sources import alertmanager, generic, pagerduty, sentry
from sentry_hooks import sentry_metric_alert

# --------------------------------------------------------------------------------------------
# Alertmanager (webhook payload version 4, as Alertmanager 0.25 sends it)


def am_alert(
    status: str = "firing",
    *,
    fingerprint: str = "98a374897dac15c8",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    starts_at: str = "2026-11-27T09:18:51.723480673Z",
    ends_at: str = "0001-01-01T00:00:00Z",
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": (
            labels
            if labels is not None
            else {"alertname": "DiskFull", "instance": "host1", "severity": "critical"}
        ),
        "annotations": (
            annotations if annotations is not None else {"summary": "Disk full on host1"}
        ),
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://prom/graph",
        "fingerprint": fingerprint,
    }


def am_message(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    return {
        "receiver": "hook",
        "status": status,
        "alerts": list(alerts) or [am_alert()],
        "groupLabels": {"alertname": "DiskFull"},
        "commonLabels": {"alertname": "DiskFull", "instance": "host1", "severity": "critical"},
        "commonAnnotations": {"summary": "Disk full on host1"},
        "externalURL": "http://vm:19093",
        "version": "4",
        "groupKey": '{}:{alertname="DiskFull"}',
        "truncatedAlerts": 0,
    }


def test_alertmanager_firing_alert_becomes_a_trigger() -> None:
    [alert] = alertmanager.parse(am_message())
    assert alert.source == "alertmanager"
    assert alert.action is Action.trigger
    assert alert.key == "98a374897dac15c8"
    assert alert.title == "Disk full on host1"
    assert alert.severity == "critical"
    assert alert.links == ("http://prom/graph",)
    assert alert.labels == {"alertname": "DiskFull", "instance": "host1", "severity": "critical"}
    assert alert.signals == {}
    assert alert.service is None  # neither a `service` nor a `job` label


def test_alertmanager_nanosecond_timestamp_parses_to_the_microsecond() -> None:
    # Go formats times with nanoseconds; Python keeps microseconds. Truncated, not rejected.
    [alert] = alertmanager.parse(am_message())
    assert alert.occurred_at == datetime(2026, 11, 27, 9, 18, 51, 723480, tzinfo=UTC)


def test_alertmanager_alerts_left_out_of_a_group_are_logged_for_the_operator(
    caplog: pytest.LogCaptureFixture,
) -> None:
    whole = alertmanager.parse(am_message())
    assert not [r for r in caplog.records if "left out" in r.getMessage()]
    truncated = {**am_message(), "truncatedAlerts": 7}
    assert alertmanager.parse(truncated) == whole  # those sent are taken in as they are
    [warning] = [r for r in caplog.records if "left out" in r.getMessage()]
    assert warning.levelname == "WARNING"
    assert 'alertname="DiskFull"' in warning.getMessage() and "7 alerts" in warning.getMessage()


def test_alertmanager_resolved_alert_resolves_at_its_end() -> None:
    resolved = am_alert("resolved", ends_at="2026-11-27T10:00:00.5Z")
    [alert] = alertmanager.parse(am_message(resolved, status="resolved"))
    assert alert.action is Action.resolve
    assert alert.occurred_at == datetime(2026, 11, 27, 10, 0, 0, 500000, tzinfo=UTC)


def test_alertmanager_grouped_alerts_keep_their_order_and_their_own_status() -> None:
    message = am_message(
        am_alert("firing", fingerprint="a1", labels={"alertname": "DiskFull", "instance": "h1"}),
        am_alert("resolved", fingerprint="b2", labels={"alertname": "DiskFull", "instance": "h2"}),
        am_alert("firing", fingerprint="c3", labels={"alertname": "DiskFull", "instance": "h3"}),
    )
    alerts = alertmanager.parse(message)
    assert [a.key for a in alerts] == ["a1", "b2", "c3"]
    assert [a.action for a in alerts] == [Action.trigger, Action.resolve, Action.trigger]
    assert [a.labels["instance"] for a in alerts] == ["h1", "h2", "h3"]


@pytest.mark.parametrize(
    ("labels", "annotations", "title", "service", "description"),
    [
        ({"alertname": "X"}, {}, "X", None, ""),
        ({}, {}, "alert", None, ""),
        ({"alertname": "X"}, {"summary": ""}, "X", None, ""),
        ({"alertname": "X", "job": "node"}, {"description": "d"}, "X", "node", "d"),
        ({"alertname": "X", "job": "node", "service": "Reader"}, {}, "X", "Reader", ""),
        ({"alertname": "X"}, {"summary": "s" * 400}, "s" * 300, None, ""),
    ],
)
def test_alertmanager_title_service_and_description_fallbacks(
    labels: dict[str, str],
    annotations: dict[str, str],
    title: str,
    service: str | None,
    description: str,
) -> None:
    [alert] = alertmanager.parse(am_message(am_alert(labels=labels, annotations=annotations)))
    assert alert.title == title
    assert alert.service == service
    assert alert.description == description


@pytest.mark.parametrize(
    ("annotations", "signals"),
    [
        ({"cost_usd_per_hour": "120"}, {"cost_usd_per_hour": 120.0}),
        ({"cost_usd_per_hour": "12.5", "summary": "Spend"}, {"cost_usd_per_hour": 12.5}),
        ({"ratio": "-0.25", "big": "1e3"}, {"ratio": -0.25, "big": 1000.0}),
        ({"n": "NaN", "i": "inf", "j": "-Infinity", "word": "twelve", "empty": ""}, {}),
    ],
)
def test_alertmanager_numeric_annotations_become_signals(
    annotations: dict[str, str], signals: dict[str, float]
) -> None:
    [alert] = alertmanager.parse(am_message(am_alert(annotations=annotations)))
    assert alert.signals == signals


def test_alertmanager_without_fingerprint_has_no_key() -> None:
    [alert] = alertmanager.parse(am_message(am_alert(fingerprint="")))
    assert alert.key is None


@pytest.mark.parametrize("version", ["3", "5", ""])
def test_alertmanager_other_versions_are_refused(version: str) -> None:
    message = am_message()
    message["version"] = version
    with pytest.raises(PayloadInvalid) as caught:
        alertmanager.parse(message)
    assert caught.value.field == "version"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda m: m.pop("alerts"), "alerts"),
        (lambda m: m.pop("version"), "version"),
        (lambda m: m.pop("status"), "status"),
        (lambda m: m.__setitem__("status", "pending"), "status"),
        (lambda m: m.__setitem__("alerts", {"not": "a list"}), "alerts"),
        (lambda m: m["alerts"][0].pop("labels"), "alerts.0.labels"),
        (lambda m: m["alerts"][0].pop("status"), "alerts.0.status"),
        (lambda m: m["alerts"][0]["labels"].__setitem__("n", 3), "alerts.0.labels.n"),
        (lambda m: m["alerts"][0].__setitem__("startsAt", "yesterday"), "alerts.0.startsAt"),
    ],
)
def test_alertmanager_schema_errors_name_the_field(mutate: Any, field: str) -> None:
    message = am_message()
    mutate(message)
    with pytest.raises(PayloadInvalid) as caught:
        alertmanager.parse(message)
    assert caught.value.field == field


@pytest.mark.parametrize("body", [None, [], "text", 4, {}])
def test_alertmanager_non_messages_are_refused(body: Any) -> None:
    with pytest.raises(PayloadInvalid):
        alertmanager.parse(body)


# --------------------------------------------------------------------------------------------
# Sentry


SECRET = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

EVENT_ALERT: dict[str, Any] = {
    "action": "triggered",
    "installation": {"uuid": "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"},
    "data": {
        "event": {
            "event_id": "e4874d664c3540c1a32eab185f12c5ab",
            "title": "ReferenceError: heck is not defined",
            "culprit": "?(<anonymous>)",
            "level": "error",
            "project": 1,
            "issue_id": "1117540176",
            "web_url": (
                "https://sentry.io/organizations/test-org/issues/1117540176/events/"
                "e4874d664c3540c1a32eab185f12c5ab/"
            ),
            "url": (
                "https://sentry.io/api/0/projects/test-org/front-end/events/"
                "e4874d664c3540c1a32eab185f12c5ab/"
            ),
            "datetime": "2019-08-19T21:06:17.677000Z",
            "timestamp": 1566248777.677,
            "tags": [["level", "error"], ["browser", "Chrome 75.0.3770"]],
        },
        "triggered_rule": "Very Important Alert Rule!",
    },
    "actor": {"type": "application", "id": "sentry", "name": "Sentry"},
}

ISSUE: dict[str, Any] = {
    "action": "created",
    "installation": {"uuid": "7a485448-a9e2-4c85-8a3c-4f44175783c9"},
    "data": {
        "issue": {
            "id": "1170820242",
            "shortId": "FRONT-END-9",
            "title": "Error: Loading chunk 0 failed.",
            "culprit": "webpackJsonp",
            "level": "error",
            "status": "unresolved",
            "project": {"id": "1", "name": "front-end", "slug": "front-end", "platform": None},
            "web_url": "https://sentry.io/organizations/test-org/issues/1170820242/",
            "permalink": None,
            "lastSeen": "2019-09-25T17:21:00Z",
            "metadata": {"type": "Error", "value": "Loading chunk 0 failed."},
        }
    },
    "actor": {"type": "user", "id": 1, "name": "Meredith"},
}


def compact(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def test_sentry_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    raw = compact(EVENT_ALERT)
    expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert sentry.signature(SECRET, raw) == expected
    assert len(expected) == 64


def test_sentry_signed_body_is_accepted() -> None:
    raw = compact(EVENT_ALERT)
    claimed = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert sentry.signed_by(SECRET, raw, claimed)
    assert sentry.signed_by(SECRET, raw, f" {claimed}\n")  # header whitespace is not the MAC


@pytest.mark.parametrize(
    ("secret", "body", "claimed"),
    [
        ("wrong secret", compact(EVENT_ALERT), sentry.signature(SECRET, compact(EVENT_ALERT))),
        (SECRET, compact(ISSUE), sentry.signature(SECRET, compact(EVENT_ALERT))),
        # The same JSON, re-serialised with spaces: the MAC covers bytes, not meaning.
        (SECRET, json.dumps(EVENT_ALERT).encode(), sentry.signature(SECRET, compact(EVENT_ALERT))),
        (SECRET, compact(EVENT_ALERT) + b" ", sentry.signature(SECRET, compact(EVENT_ALERT))),
        (SECRET, compact(EVENT_ALERT), None),
        (SECRET, compact(EVENT_ALERT), ""),
        (SECRET, compact(EVENT_ALERT), "0" * 64),
        (SECRET, compact(EVENT_ALERT), sentry.signature(SECRET, compact(EVENT_ALERT))[:-1]),
    ],
    ids=[
        "wrong-secret",
        "other-body",
        "reserialised",
        "tampered",
        "missing",
        "empty",
        "zeros",
        "truncated",
    ],
)
def test_sentry_unsigned_bodies_are_refused(secret: str, body: bytes, claimed: str | None) -> None:
    assert not sentry.signed_by(secret, body, claimed)


@pytest.mark.parametrize("claimed", ["é", "sha256=é" + "0" * 56, "\u00ff" * 64])
def test_sentry_non_ascii_signature_header_is_refused_not_a_crash(claimed: str) -> None:
    # Starlette decodes header bytes as Latin-1, so a client can send any of these.
    assert not sentry.signed_by(SECRET, compact(EVENT_ALERT), claimed)


@given(secret=st.text(min_size=1), body=st.binary(), claimed=st.none() | st.text())
@settings(max_examples=200)
def test_sentry_signed_by_never_crashes_and_only_accepts_the_mac(
    secret: str, body: bytes, claimed: str | None
) -> None:
    accepted = sentry.signed_by(secret, body, claimed)
    assert accepted == (claimed is not None and claimed.strip() == sentry.signature(secret, body))


def test_sentry_event_alert() -> None:
    [alert] = sentry.parse("event_alert", EVENT_ALERT)
    assert alert.source == "sentry"
    assert alert.action is Action.trigger
    assert alert.key == "issue:1117540176"
    assert alert.title == "ReferenceError: heck is not defined"
    assert alert.description == "?(<anonymous>)"
    assert alert.severity == "error"
    assert alert.labels == {
        "level": "error",
        "browser": "Chrome 75.0.3770",
        "sentry_rule": "Very Important Alert Rule!",
    }
    assert alert.links == (EVENT_ALERT["data"]["event"]["web_url"],)
    assert alert.occurred_at == datetime(2019, 8, 19, 21, 6, 17, 677000, tzinfo=UTC)
    # No `service` tag: the project's slug from the event's API URL, as an issue hook for
    # the same issue names it (`project.slug`), so both reach the same owner.
    assert alert.service == "front-end" == ISSUE["data"]["issue"]["project"]["slug"]


def test_sentry_event_alert_without_its_api_url_names_the_project_by_number() -> None:
    body = copy.deepcopy(EVENT_ALERT)
    del body["data"]["event"]["url"]
    (alert,) = sentry.parse("event_alert", body)
    assert alert.service == "1"


def test_sentry_event_alert_service_tag_wins_and_dict_tags_are_read() -> None:
    body = copy.deepcopy(EVENT_ALERT)
    body["data"]["event"]["tags"] = [
        {"key": "service", "value": "Reader"},
        ["env", "prod"],
        ["malformed"],
        "junk",
        {"value": "no key"},
    ]
    body["data"]["event"]["level"] = None
    [alert] = sentry.parse("event_alert", body)
    assert alert.service == "Reader"
    assert alert.labels == {
        "service": "Reader",
        "env": "prod",
        "level": "error",  # a missing level reads as error
        "sentry_rule": "Very Important Alert Rule!",
    }
    assert alert.severity is None


def test_sentry_event_alert_without_issue_has_no_key_and_falls_back_on_message() -> None:
    body = copy.deepcopy(EVENT_ALERT)
    event = body["data"]["event"]
    del event["issue_id"], event["title"], event["web_url"]
    event["message"] = "boom"
    [alert] = sentry.parse("event_alert", body)
    assert alert.key is None
    assert alert.title == "boom"
    assert alert.links == ()


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("created", Action.trigger),
        ("unresolved", Action.trigger),
        ("resolved", Action.resolve),
    ],
)
def test_sentry_issue_actions_that_change_an_alert(action: str, expected: Action) -> None:
    body = {**ISSUE, "action": action}
    [alert] = sentry.parse("issue", body)
    assert alert.action is expected
    assert alert.key == "issue:1170820242"
    assert alert.title == "Error: Loading chunk 0 failed."
    assert alert.service == "front-end"
    assert alert.description == "webpackJsonp"
    assert alert.labels == {"level": "error"}
    assert alert.links == ("https://sentry.io/organizations/test-org/issues/1170820242/",)
    assert alert.occurred_at == datetime(2019, 9, 25, 17, 21, tzinfo=UTC)


@pytest.mark.parametrize("action", ["assigned", "ignored", "archived", "deleted", ""])
def test_sentry_issue_actions_that_change_nothing(action: str) -> None:
    assert sentry.parse("issue", {**ISSUE, "action": action}) == []


def test_sentry_issue_with_numeric_id_and_no_title() -> None:
    body = copy.deepcopy(ISSUE)
    issue = body["data"]["issue"]
    issue["id"] = 42
    issue["title"] = ""
    issue["web_url"] = None
    issue["permalink"] = "https://sentry.io/share/42/"
    [alert] = sentry.parse("issue", body)
    assert alert.key == "issue:42"
    assert alert.title == "FRONT-END-9"
    assert alert.links == ("https://sentry.io/share/42/",)


def test_sentry_missing_resource_header_is_refused() -> None:
    with pytest.raises(PayloadInvalid) as caught:
        sentry.parse(None, EVENT_ALERT)
    assert caught.value.field == "Sentry-Hook-Resource"


@pytest.mark.parametrize("resource", ["installation", "comment", "error"])
def test_sentry_other_resources_carry_no_alerts(resource: str) -> None:
    body = {"action": "created", "installation": {"uuid": "x"}, "data": {"installation": {}}}
    assert sentry.parse(resource, body) == []


@pytest.mark.parametrize(
    ("resource", "body", "field"),
    [
        ("event_alert", {"action": "triggered"}, "data"),
        ("event_alert", {"data": {}}, "action"),
        ("event_alert", {"action": "triggered", "data": {}}, "event"),
        ("event_alert", {"action": "triggered", "data": {"event": []}}, "event"),
        ("issue", {"action": "created", "data": {}}, "issue"),
        ("issue", {"action": "created", "data": {"issue": {"title": "no id"}}}, "issue.id"),
        ("issue", {"action": "created", "data": {"issue": {"id": None}}}, "issue.id"),
    ],
)
def test_sentry_schema_errors_name_the_field(resource: str, body: Any, field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        sentry.parse(resource, body)
    assert caught.value.field.startswith(field)


# --------------------------------------------------------------------------------------------
# PagerDuty Events API v2


def pd_trigger(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routing_key": "R0UT1NGK3Y",
        "event_action": "trigger",
        "dedup_key": "disk-host1",
        "payload": {
            "summary": "Disk full on host1",
            "source": "host1.example.com",
            "severity": "critical",
            "component": "postgres",
            "group": "prod-datapipe",
            "class": "disk",
            "timestamp": "2015-07-17T08:42:58.315+0000",
            "custom_details": {"cost_usd_per_hour": 12.5, "note": "x", "nested": {"a": 1}},
        },
        "links": [{"href": "https://example.com/runbook", "text": "Runbook"}],
        "images": [
            {"src": "https://example.com/graph.png", "href": "https://example.com/graph"},
            {"src": "https://example.com/only-src.png"},
        ],
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.example.com",
    }
    body.update(changes)
    return body


def test_pagerduty_trigger() -> None:
    event = pagerduty.parse(pd_trigger())
    alert = event.alert
    assert event.routing_key == "R0UT1NGK3Y"
    assert alert.source == "pagerduty"
    assert alert.action is Action.trigger
    assert alert.key == "disk-host1"
    assert alert.title == "Disk full on host1"
    assert alert.service == "postgres"
    assert alert.severity == "critical"
    assert alert.signals == {"cost_usd_per_hour": 12.5}
    assert alert.labels == {
        "severity": "critical",
        "component": "postgres",
        "group": "prod-datapipe",
        "class": "disk",
        "source": "host1.example.com",
    }
    assert alert.links == (
        "https://example.com/runbook",
        "https://monitoring.example.com",
        "https://example.com/graph",
        "https://example.com/only-src.png",
    )
    assert alert.occurred_at == datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)
    assert json.loads(alert.description) == {
        "cost_usd_per_hour": 12.5,
        "note": "x",
        "nested": {"a": 1},
    }


def test_pagerduty_service_falls_back_on_source() -> None:
    body = pd_trigger()
    del body["payload"]["component"]
    assert pagerduty.parse(body).alert.service == "host1.example.com"
    assert "component" not in pagerduty.parse(body).alert.labels


@pytest.mark.parametrize(
    ("details", "signals", "description"),
    [
        (None, {}, ""),
        ("free text", {}, "free text"),
        ({"a": "3", "b": True, "c": [1], "d": "nan"}, {"a": 3.0}, None),
        ({"load avg": 0.75, "ping": "1500ms"}, {"load avg": 0.75}, None),
        ([1, 2], {}, None),
    ],
)
def test_pagerduty_custom_details(
    details: Any, signals: dict[str, float], description: str | None
) -> None:
    body = pd_trigger()
    body["payload"]["custom_details"] = details
    alert = pagerduty.parse(body).alert
    assert alert.signals == signals
    if description is None:
        assert json.loads(alert.description) == details
    else:
        assert alert.description == description


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_pagerduty_acknowledge_and_resolve_name_their_alert(action: str) -> None:
    event = pagerduty.parse({"routing_key": "R", "event_action": action, "dedup_key": "k"})
    assert event.routing_key == "R"
    assert event.alert.action is Action(action)
    assert event.alert.key == "k"
    assert event.alert.title == "k"
    assert event.alert.service is None
    assert event.alert.labels == {}
    assert event.alert.signals == {}


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
@pytest.mark.parametrize("dedup", [{}, {"dedup_key": None}, {"dedup_key": ""}])
def test_pagerduty_acknowledge_and_resolve_need_a_dedup_key(
    action: str, dedup: dict[str, Any]
) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        pagerduty.parse({"routing_key": "R", "event_action": action, **dedup})
    assert caught.value.field == "dedup_key"


def test_pagerduty_trigger_without_dedup_key_has_no_key() -> None:
    body = pd_trigger()
    del body["dedup_key"]
    assert pagerduty.parse(body).alert.key is None


def test_pagerduty_trigger_needs_a_payload() -> None:
    body = pd_trigger()
    del body["payload"]
    with pytest.raises(PayloadInvalid) as caught:
        pagerduty.parse(body)
    assert caught.value.field == "payload"


def with_payload(**changes: Any) -> dict[str, Any]:
    body = pd_trigger()
    body["payload"].update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (with_payload(severity="fatal"), "payload.severity"),
        (with_payload(severity="CRITICAL"), "payload.severity"),
        (with_payload(summary="s" * 1025), "payload.summary"),
        (with_payload(summary=""), "payload.summary"),
        (with_payload(source=""), "payload.source"),
        (with_payload(timestamp="soon"), "payload.timestamp"),
        (pd_trigger(routing_key=""), "routing_key"),
        (pd_trigger(event_action="snooze"), "event_action"),
        (pd_trigger(dedup_key="k" * 256), "dedup_key"),
        (pd_trigger(links=[{"text": "no href"}]), "links.0.href"),
        (pd_trigger(images=[{"href": "no src"}]), "images.0.src"),
        ({"event_action": "trigger"}, "routing_key"),
    ],
)
def test_pagerduty_schema_errors_name_the_field(body: Any, field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        pagerduty.parse(body)
    assert caught.value.field == field


def test_pagerduty_limits_are_inclusive() -> None:
    alert = pagerduty.parse(
        with_payload(summary="s" * 1024, source="o" * 255) | {"dedup_key": "k" * 255}
    ).alert
    assert alert.title == "s" * 300
    assert alert.key == "k" * 255


# --------------------------------------------------------------------------------------------
# Generic


def test_generic_one_alert_with_defaults() -> None:
    [alert] = generic.parse({"title": "Cloud spend over budget"})
    assert alert == IncomingAlert(
        source="generic", action=Action.trigger, title="Cloud spend over budget"
    )


def test_generic_full_alert() -> None:
    [alert] = generic.parse(
        {
            "title": "Cloud spend over budget",
            "service": "batch",
            "signals": {"cost_usd_per_hour": 120},
            "labels": {"region": "us-central1"},
            "dedup_key": "spend-batch",
            "action": "resolve",
            "description": "d",
            "severity": "high",
            "links": ["https://a", "https://b"],
            "occurred_at": "2026-11-25T10:00:00Z",
        }
    )
    assert alert.action is Action.resolve
    assert alert.key == "spend-batch"
    assert alert.service == "batch"
    assert alert.signals == {"cost_usd_per_hour": 120.0}
    assert alert.labels == {"region": "us-central1"}
    assert alert.links == ("https://a", "https://b")
    assert alert.occurred_at == datetime(2026, 11, 25, 10, tzinfo=UTC)


def test_generic_list_keeps_order() -> None:
    alerts = generic.parse([{"title": "a"}, {"title": "b", "action": "acknowledge"}])
    assert [(a.title, a.action) for a in alerts] == [("a", Action.trigger), ("b", "acknowledge")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "t", "extra": 1}, "alerts.0.extra"),
        ([{"title": "t"}, {"title": "u", "colour": "red"}], "alerts.1.colour"),
        ({"title": "t", "signals": {"x": math.nan}}, "alerts.0.signals.x"),
        ({"title": "t", "signals": {"x": math.inf}}, "alerts.0.signals.x"),
        ({"title": "t", "signals": {"x": -math.inf}}, "alerts.0.signals.x"),
        ({"title": "t", "signals": {"x": "NaN"}}, "alerts.0.signals.x"),
        ({"title": "t", "signals": {"x": "Infinity"}}, "alerts.0.signals.x"),
        ({"title": "t", "signals": {"x": "lots"}}, "alerts.0.signals.x"),
        ({"title": "t", "labels": {"x": 1}}, "alerts.0.labels.x"),
        ({"title": ""}, "alerts.0.title"),
        ({"title": "t" * 301}, "alerts.0.title"),
        ({}, "alerts.0.title"),
        ({"title": "t", "action": "snooze"}, "alerts.0.action"),
        ({"title": "t", "dedup_key": ""}, "alerts.0.dedup_key"),
        ({"title": "t", "links": ["l"] * 21}, "alerts.0.links"),
        ([], "alerts"),
        ([{"title": "t"}] * 1001, "alerts"),
        ("a title", "alerts.0"),
        (None, "alerts.0"),
    ],
)
def test_generic_refusals_name_the_field(body: Any, field: str) -> None:
    with pytest.raises(PayloadInvalid) as caught:
        generic.parse(body)
    assert caught.value.field == field


# --------------------------------------------------------------------------------------------
# Fingerprint


def keyless(**changes: Any) -> IncomingAlert:
    base: dict[str, Any] = {
        "source": "generic",
        "action": Action.trigger,
        "title": "Disk full",
        "service": "Reader",
        "labels": {"region": "us", "env": "prod"},
    }
    return IncomingAlert(**(base | changes))


def test_fingerprint_source_key_wins_and_is_namespaced() -> None:
    [alert] = alertmanager.parse(am_message())
    assert fingerprint(alert) == "alertmanager:98a374897dac15c8"
    assert fingerprint(alert, ["title"]) == "alertmanager:98a374897dac15c8"


def test_fingerprint_same_key_from_two_sources_differs() -> None:
    one = IncomingAlert(source="generic", action=Action.trigger, title="t", key="k")
    other = IncomingAlert(source="pagerduty", action=Action.trigger, title="t", key="k")
    assert fingerprint(one) == "generic:k"
    assert fingerprint(other) == "pagerduty:k"


@pytest.mark.parametrize("extra", [-1, 0, 1, 500])
def test_fingerprint_long_keys_are_hashed(extra: int) -> None:
    source = "generic"
    key = "k" * (MAX_KEY - len(source) - 1 + extra)  # extra=0: exactly MAX_KEY when namespaced
    alert = IncomingAlert(source=source, action=Action.trigger, title="t", key=key)
    print_ = fingerprint(alert)
    assert len(print_) <= MAX_KEY
    assert print_ == fingerprint(alert)
    if extra <= 0:
        assert print_ == f"{source}:{key}"
    else:
        assert print_ == f"{source}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def test_fingerprint_long_keys_that_differ_only_at_the_end_differ() -> None:
    head = "k" * 400
    a = IncomingAlert(source="generic", action=Action.trigger, title="t", key=head + "a")
    b = IncomingAlert(source="generic", action=Action.trigger, title="t", key=head + "b")
    assert fingerprint(a) != fingerprint(b)


def test_fingerprint_without_key_ignores_label_order() -> None:
    one = keyless(labels={"region": "us", "env": "prod"})
    other = keyless(labels={"env": "prod", "region": "us"})
    assert fingerprint(one) == fingerprint(other)
    assert fingerprint(one).startswith("generic:sha256:")
    assert len(fingerprint(one)) == len("generic:sha256:") + 64


@pytest.mark.parametrize(
    "changes",
    [
        {"labels": {"region": "eu", "env": "prod"}},
        {"labels": {"region": "us"}},
        {"labels": {"region": "us", "env": "prod", "more": ""}},
        {"title": "Disk nearly full"},
        {"service": "Dispatch"},
        {"service": None},
        {"source": "alertmanager"},
    ],
)
def test_fingerprint_without_key_differs_when_a_chosen_field_does(changes: dict[str, Any]) -> None:
    assert fingerprint(keyless(**changes)) != fingerprint(keyless())


@pytest.mark.parametrize(
    "changes",
    [
        {"description": "other"},
        {"severity": "critical"},
        {"signals": {"x": 1.0}},
        {"links": ("https://a",)},
        {"action": Action.resolve},
        {"occurred_at": datetime(2026, 1, 1, tzinfo=UTC)},
    ],
)
def test_fingerprint_without_key_ignores_other_fields(changes: dict[str, Any]) -> None:
    assert fingerprint(keyless(**changes)) == fingerprint(keyless())


def test_fingerprint_label_field_selects_only_that_label() -> None:
    fields = ["service", "labels.region"]
    base = fingerprint(keyless(), fields)
    assert fingerprint(keyless(labels={"region": "us", "env": "dev"}), fields) == base
    assert fingerprint(keyless(labels={"region": "us"}), fields) == base
    assert fingerprint(keyless(title="other"), fields) == base
    assert fingerprint(keyless(labels={"region": "eu", "env": "prod"}), fields) != base
    assert fingerprint(keyless(service="Dispatch"), fields) != base
    # A missing label and an empty one are not the same alert.
    assert fingerprint(keyless(labels={}), fields) != fingerprint(
        keyless(labels={"region": ""}), fields
    )
    assert fingerprint(keyless(), fields) != fingerprint(keyless(), DEFAULT_FIELDS)


label_dicts = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=6)


@given(labels=label_dicts, service=st.none() | st.text(max_size=10), title=st.text(max_size=20))
@settings(max_examples=200)
def test_fingerprint_keyless_is_a_function_of_service_title_and_label_set(
    labels: dict[str, str], service: str | None, title: str
) -> None:
    one = keyless(labels=labels, service=service, title=title)
    reordered = keyless(labels=dict(reversed(list(labels.items()))), service=service, title=title)
    assert fingerprint(one) == fingerprint(reordered)
    assert len(fingerprint(one)) <= MAX_KEY


@given(a=label_dicts, b=label_dicts)
@settings(max_examples=200)
def test_fingerprint_keyless_different_labels_differ(a: dict[str, str], b: dict[str, str]) -> None:
    same = fingerprint(keyless(labels=a)) == fingerprint(keyless(labels=b))
    assert same == (a == b)


@given(key=st.text(min_size=1, max_size=600), source=st.sampled_from(["generic", "pagerduty"]))
@settings(max_examples=200)
def test_fingerprint_keyed_is_bounded_and_stable(key: str, source: str) -> None:
    alert = IncomingAlert(source=source, action=Action.trigger, title="t", key=key)
    print_ = fingerprint(alert)
    assert len(print_) <= MAX_KEY
    assert print_.startswith(f"{source}:")
    assert print_ == fingerprint(
        IncomingAlert(source=source, action=Action.resolve, title="u", key=key)
    )


# Lone surrogates: `json.loads('"\\udfff"')` is a str that cannot be encoded as UTF-8. Pydantic
# refuses them in length-constrained strings but not in plain `str` fields, so a parser may
# pass one through; then its fingerprint must still work (or the parser must refuse it).
SURROGATE_KEYS = [
    (
        "alertmanager",
        None,
        '{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{},'
        '"fingerprint":"%s"}]}',
    ),
    ("sentry", "issue", '{"action":"created","data":{"issue":{"id":"%s"}}}'),
    ("sentry", "event_alert", '{"action":"triggered","data":{"event":{"issue_id":"%s"}}}'),
]


@pytest.mark.parametrize("length", [10, 300])
@pytest.mark.parametrize(("parser", "resource", "template"), SURROGATE_KEYS)
def test_lone_surrogates_in_source_keys_are_refused_or_fingerprinted(
    parser: str, resource: str | None, template: str, length: int
) -> None:
    body = json.loads(template % ("f" * length + "\\udfff"))
    try:
        alerts = parse_any(parser, body, resource)
    except PayloadInvalid:
        return
    for alert in alerts:
        print_ = fingerprint(alert)
        assert len(print_) <= MAX_KEY


@given(
    key=st.tuples(
        st.integers(0, 300), st.text(st.characters(codec=None, categories=["Cs", "L", "N"]))
    ).map(lambda parts: "k" * parts[0] + parts[1]),
)
@settings(max_examples=200)
def test_fingerprint_of_any_str_key_is_bounded(key: str) -> None:
    assume(key)
    alert = IncomingAlert(source="alertmanager", action=Action.trigger, title="t", key=key)
    assert len(fingerprint(alert)) <= MAX_KEY


# --------------------------------------------------------------------------------------------
# Properties: arbitrary and almost-valid payloads raise PayloadInvalid, never anything else

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)

SENTRY_RESOURCES = [None, "event_alert", "issue", "installation", "metric_alert"]


def parse_any(parser: str, body: Any, resource: str | None = None) -> list[IncomingAlert]:
    """Parse with one parser; its alerts (PagerDuty's one alert as a list)."""
    if parser == "alertmanager":
        return alertmanager.parse(body)
    if parser == "generic":
        return generic.parse(body)
    if parser == "pagerduty":
        event = pagerduty.parse(body)
        assert isinstance(event.routing_key, str)
        assert event.routing_key
        return [event.alert]
    return sentry.parse(resource, body)


def check_alerts(alerts: list[IncomingAlert], source: str) -> None:
    """What every parsed alert promises, whatever the payload."""
    assert isinstance(alerts, list)
    for alert in alerts:
        assert isinstance(alert, IncomingAlert)
        assert alert.source == source
        assert isinstance(alert.action, Action)
        assert isinstance(alert.title, str)
        assert len(alert.title) <= 300
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in alert.labels.items())
        assert all(math.isfinite(v) for v in alert.signals.values())
        assert all(isinstance(link, str) for link in alert.links)
        assert len(fingerprint(alert)) <= MAX_KEY


def outcome(parser: str, body: Any, resource: str | None = None) -> None:
    source = "sentry" if parser == "sentry" else parser
    try:
        alerts = parse_any(parser, body, resource)
    except PayloadInvalid as error:
        assert isinstance(error.field, str)
        assert error.field
        return
    check_alerts(alerts, source)


@given(body=json_values)
@settings(max_examples=200)
def test_alertmanager_arbitrary_json_is_refused_cleanly(body: Any) -> None:
    outcome("alertmanager", body)


@given(body=json_values)
@settings(max_examples=200)
def test_generic_arbitrary_json_is_refused_cleanly(body: Any) -> None:
    outcome("generic", body)


@given(body=json_values)
@settings(max_examples=200)
def test_pagerduty_arbitrary_json_is_refused_cleanly(body: Any) -> None:
    outcome("pagerduty", body)


@given(body=json_values, resource=st.sampled_from(SENTRY_RESOURCES))
@settings(max_examples=200)
def test_sentry_arbitrary_json_is_refused_cleanly(body: Any, resource: str | None) -> None:
    outcome("sentry", body, resource)


# Almost valid: a documented payload with a few of its nodes replaced, deleted or added to.

VALID: dict[str, list[tuple[Any, str | None]]] = {
    "alertmanager": [
        (am_message(), None),
        (
            am_message(
                am_alert("resolved", annotations={"cost_usd_per_hour": "120", "summary": "s"}),
                am_alert(labels={"alertname": "A", "job": "node"}),
                status="resolved",
            ),
            None,
        ),
    ],
    "generic": [
        ({"title": "t", "signals": {"x": 1}, "labels": {"a": "b"}, "links": ["l"]}, None),
        ([{"title": "a", "occurred_at": "2026-11-25T10:00:00Z"}, {"title": "b"}], None),
    ],
    "pagerduty": [
        (pd_trigger(), None),
        ({"routing_key": "R", "event_action": "resolve", "dedup_key": "k"}, None),
    ],
    "sentry": [
        (EVENT_ALERT, "event_alert"),
        (ISSUE, "issue"),
        ({**ISSUE, "action": "resolved"}, "issue"),
    ],
}

leaf_values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(
        [
            "",
            "4",
            "3",
            "firing",
            "resolved",
            "trigger",
            "resolve",
            "acknowledge",
            "critical",
            "120",
            "nan",
            "inf",
            "1e999",
            "2026-11-27T09:18:51.723480673Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2015-07-17T08:42:58.315+0000",
            "1566248777.677",
            "x" * 1100,
        ]
    )
    | st.sampled_from([10**20, -(10**20), 2**63, 1e308, -1e-308, 1566248777.677])
)
replacements = leaf_values | json_values


def paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(node, dict):
        for key, child in node.items():
            found += paths(child, (*here, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += paths(child, (*here, index))
    return found


def at(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


@st.composite
def almost_valid(draw: st.DrawFn, parser: str) -> tuple[Any, str | None]:
    body, resource = draw(st.sampled_from(VALID[parser]))
    body = copy.deepcopy(body)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(body)))
        node = at(body, path)
        choice = draw(st.sampled_from(["replace", "delete", "add"]))
        if choice == "add" and isinstance(node, dict):
            node[draw(st.text(max_size=10))] = draw(replacements)
        elif choice == "add" and isinstance(node, list):
            node.append(draw(replacements))
        elif choice == "delete" and path and isinstance(at(body, path[:-1]), dict):
            del at(body, path[:-1])[path[-1]]
        elif path:
            at(body, path[:-1])[path[-1]] = draw(replacements)
        else:
            body = draw(replacements)
    if parser == "sentry":
        resource = draw(st.sampled_from([resource, *SENTRY_RESOURCES]))
    return body, resource


@pytest.mark.parametrize("parser", sorted(VALID))
def test_documented_payloads_parse(parser: str) -> None:
    for body, resource in VALID[parser]:
        alerts = parse_any(parser, body, resource)
        assert alerts
        check_alerts(alerts, parser)


@given(data=st.data())
@settings(max_examples=200)
def test_alertmanager_almost_valid_payloads_are_refused_cleanly(data: st.DataObject) -> None:
    body, _ = data.draw(almost_valid("alertmanager"))
    outcome("alertmanager", body)


@given(data=st.data())
@settings(max_examples=200)
def test_generic_almost_valid_payloads_are_refused_cleanly(data: st.DataObject) -> None:
    body, _ = data.draw(almost_valid("generic"))
    outcome("generic", body)


@given(data=st.data())
@settings(max_examples=200)
def test_pagerduty_almost_valid_payloads_are_refused_cleanly(data: st.DataObject) -> None:
    body, _ = data.draw(almost_valid("pagerduty"))
    outcome("pagerduty", body)


@given(data=st.data())
@settings(max_examples=200)
def test_sentry_almost_valid_payloads_are_refused_cleanly(data: st.DataObject) -> None:
    body, resource = data.draw(almost_valid("sentry"))
    outcome("sentry", body, resource)


@given(
    alerts=st.lists(
        st.fixed_dictionaries(
            {
                "status": st.sampled_from(["firing", "resolved"]),
                "labels": st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4),
                "fingerprint": st.text(alphabet="0123456789abcdef", max_size=16),
            },
            optional={
                "annotations": st.dictionaries(
                    st.text(max_size=8),
                    st.text(max_size=8) | st.floats().map(str) | st.integers().map(str),
                    max_size=4,
                ),
            },
        ),
        max_size=5,
    )
)
@settings(max_examples=200)
def test_alertmanager_one_incoming_alert_per_alert_in_order(alerts: list[dict[str, Any]]) -> None:
    message = {"version": "4", "status": "firing", "alerts": alerts}
    parsed = alertmanager.parse(message)
    assert len(parsed) == len(alerts)
    for sent, alert in zip(alerts, parsed, strict=True):
        assert alert.action is (Action.resolve if sent["status"] == "resolved" else Action.trigger)
        assert alert.key == (sent["fingerprint"] or None)
        assert alert.labels == sent["labels"]
        for name, value in alert.signals.items():
            assert value == float(sent["annotations"][name])
            assert math.isfinite(value)


def test_pagerduty_long_summary_and_source_are_kept_not_refused() -> None:
    # PagerDuty takes a summary of up to 1,024 characters and sets no limit on `source`.
    body = pd_trigger()
    body["payload"]["summary"] = "s" * 1024
    body["payload"]["source"] = "arn:aws:rds:" + "r" * 600
    del body["payload"]["component"]
    alert = pagerduty.parse(body).alert
    assert alert.title == "s" * 300
    assert alert.description.startswith("s" * 1024 + "\n\n")
    assert json.loads(alert.description.split("\n\n", 1)[1])["note"] == "x"
    assert alert.service == body["payload"]["source"][:200]
    assert alert.labels["source"] == body["payload"]["source"]


@pytest.mark.parametrize(
    ("action", "expected", "severity"),
    [
        ("critical", Action.trigger, "critical"),
        ("warning", Action.trigger, "warning"),
        ("resolved", Action.resolve, None),
    ],
)
def test_sentry_metric_alert_is_an_alert_of_its_incident(
    action: str, expected: Action, severity: str | None
) -> None:
    (alert,) = sentry.parse("metric_alert", sentry_metric_alert(action))
    assert alert.action is expected and alert.severity == severity
    assert alert.key == "metric_alert:4"  # one incident, whatever its thresholds crossed
    assert (alert.title, alert.service) == ("Too many errors", "bar")
    assert alert.description.startswith("1000 events in the last 10 minutes")
    assert alert.links == ("https://sentry.io/organizations/baz/alerts/1/",)
    assert alert.labels["alert_rule"] == "Too many errors"
    assert alert.occurred_at == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)


def test_sentry_metric_alert_of_another_action_is_refused_by_field() -> None:
    with pytest.raises(PayloadInvalid) as refused:
        sentry.parse("metric_alert", sentry_metric_alert("exploded"))
    assert refused.value.field == "action"
