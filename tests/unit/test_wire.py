"""What goes to the intake writer process comes back equal, and as plain values."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime

from fireline.intake.alert import Action, IncomingAlert
from fireline.intake.service import Source


def test_an_alert_and_its_source_survive_the_trip_to_the_writer() -> None:
    alert = IncomingAlert(
        source="generic",
        action=Action.resolve,
        title="Tap failing",
        key="tap",
        service="hub",
        description="d",
        severity="critical",
        labels={"team": "data"},
        signals={"cost_usd_per_hour": 120.0},
        links=("https://example.org/1",),
        occurred_at=datetime(2026, 11, 27, 22, 0, tzinfo=UTC),
    )
    source = Source(1, 2, "meltano", "generic", "bench", None, "ab" * 32)
    back_alert, back_source = pickle.loads(pickle.dumps((alert, source)))
    assert back_alert == alert and back_source == source
    assert back_alert.action is Action.resolve
    # Pickled by value, field by field in order, not by the slotted dataclass's own state.
    assert alert.__reduce__() == (IncomingAlert, tuple(getattr(alert, f) for f in alert.__slots__))
