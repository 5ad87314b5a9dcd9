"""Pure display rules of the web app and the status page: clocks, charts, feeds, matchers."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fireline.errors import Invalid
from fireline.statuspage import atom
from fireline.tickets.board import _day_ends, daily_counts
from fireline.web.actions import _matchers, _safe_then
from fireline.web.render import countdown, duration, local, stacked_bars

T0 = datetime(2027, 3, 14, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("elapsed", "used", "words", "state"),
    [
        (timedelta(0), 0.0, "4 h 0 min left", "ok"),
        (timedelta(hours=2), 0.5, "2 h 0 min left", "ok"),
        (timedelta(hours=3), 0.75, "1 h 0 min left", "soon"),
        (timedelta(hours=4), 1.0, "0 s late", "late"),
        (timedelta(hours=30), 1.0, "1 d 2 h late", "late"),
    ],
)
def test_a_countdown_tells_how_much_of_the_target_is_used(
    elapsed: timedelta, used: float, words: str, state: str
) -> None:
    shown = countdown(T0, T0 + timedelta(hours=4), T0 + elapsed)
    assert shown is not None
    assert (shown.used, shown.words, shown.state) == (used, words, state)


def test_no_target_means_no_countdown() -> None:
    assert countdown(T0, None, T0) is None


@given(
    start=st.integers(0, 10**6),
    length=st.integers(0, 10**6),
    now=st.integers(-(10**6), 3 * 10**6),
)
def test_a_countdown_bar_never_leaves_its_track(start: int, length: int, now: int) -> None:
    shown = countdown(
        T0 + timedelta(seconds=start),
        T0 + timedelta(seconds=start + length),
        T0 + timedelta(seconds=now),
    )
    assert shown is not None
    assert 0.0 <= shown.used <= 1.0
    assert (shown.state == "late") == (now >= start + length)


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(seconds=40), "40 s"),
        (timedelta(minutes=5, seconds=59), "5 min"),
        (timedelta(hours=2, minutes=5), "2 h 5 min"),
        (timedelta(days=3, hours=4, minutes=59), "3 d 4 h"),
        (timedelta(hours=-2), "2 h 0 min"),
    ],
)
def test_durations_read_in_their_two_largest_units(delta: timedelta, words: str) -> None:
    assert duration(delta) == words


@pytest.mark.parametrize(
    ("moment", "zone", "shown"),
    [
        # Berlin's clocks go forward on 2027-03-28 at 01:00 UTC: CET before, CEST after.
        (datetime(2027, 3, 28, 0, 59, tzinfo=UTC), "Europe/Berlin", "Sun 28 Mar 01:59 CET"),
        (datetime(2027, 3, 28, 1, 0, tzinfo=UTC), "Europe/Berlin", "Sun 28 Mar 03:00 CEST"),
        # New York's go forward on 2027-03-14 at 07:00 UTC.
        (datetime(2027, 3, 14, 6, 59, tzinfo=UTC), "America/New_York", "Sun 14 Mar 01:59 EST"),
        (datetime(2027, 3, 14, 7, 0, tzinfo=UTC), "America/New_York", "Sun 14 Mar 03:00 EDT"),
    ],
)
def test_times_show_on_the_readers_own_wall_clock_across_dst(
    moment: datetime, zone: str, shown: str
) -> None:
    assert local(moment, zone) == shown


def test_stacked_bars_put_the_most_severe_level_at_the_bottom() -> None:
    bars, peak = stacked_bars(
        [("d1", {"P1": 1, "P2": 3}), ("d2", {"P2": 2})], ["P1", "P2"], width=200, height=100
    )
    assert peak == 4
    first_day = [b for b in bars if b.x == 0]
    assert [(b.level, b.count, b.height) for b in first_day] == [("P1", 1, 25.0), ("P2", 3, 75.0)]
    assert first_day[0].y == 75.0 and first_day[1].y == 0.0
    assert [(b.x, b.level, b.height) for b in bars if b.x != 0] == [(100.0, "P2", 50.0)]


def test_an_empty_chart_has_no_bars() -> None:
    assert stacked_bars([("d1", {})], ["P1"], 100, 100) == ([], 1)


def _bucket(moment: datetime, ends: list[datetime]) -> int:
    """What the SQL CASE does: k for (ends[k-1], ends[k]]."""
    return next(k for k in range(1, len(ends)) if moment <= ends[k])


def _counted_backwards(
    tickets: list[tuple[str | None, datetime, datetime | None]], now: datetime, days: int
) -> list[dict[str, int]]:
    ends = _day_ends(now, days)
    open_now = Counter(level for level, _, resolved in tickets if resolved is None)
    opened = Counter(
        (_bucket(created, ends), level) for level, created, _ in tickets if created > ends[0]
    )
    resolved = Counter(
        (_bucket(r, ends), level) for level, _, r in tickets if r is not None and r > ends[0]
    )
    return [
        d.by_level
        for d in daily_counts(
            list(open_now.items()),
            [(k, level, n) for (k, level), n in opened.items()],
            [(k, level, n) for (k, level), n in resolved.items()],
            ends,
        )
    ]


def _brute_force(
    tickets: list[tuple[str | None, datetime, datetime | None]], now: datetime, days: int
) -> list[dict[str, int]]:
    return [
        {
            (level or "untriaged"): n
            for level, n in Counter(
                level
                for level, created, resolved in tickets
                if created <= end and (resolved is None or resolved > end)
            ).items()
        }
        for end in _day_ends(now, days)
    ]


def test_open_each_day_counts_a_ticket_from_its_opening_until_its_resolution() -> None:
    now = datetime(2027, 3, 3, 6, tzinfo=UTC)
    first = datetime(2027, 3, 1, tzinfo=UTC)
    tickets = [
        ("P1", first - timedelta(days=3), None),  # open all along
        ("P2", first + timedelta(hours=5), first + timedelta(days=1, hours=2)),  # 1 Mar only
        (None, first + timedelta(days=1, hours=1), None),  # from 2 Mar, untriaged
    ]
    assert _counted_backwards(tickets, now, 3) == [
        {"P1": 1, "P2": 1},
        {"P1": 1, "untriaged": 1},
        {"P1": 1, "untriaged": 1},
    ]


moments = st.integers(0, 40 * 24 * 3600).map(lambda s: T0 + timedelta(seconds=s))


@given(
    tickets=st.lists(
        st.tuples(
            st.sampled_from(["P1", "P2", None]),
            moments,
            st.one_of(st.none(), st.integers(1, 20 * 24 * 3600)),
        ),
        max_size=40,
    ),
    now=moments,
    days=st.integers(2, 20),
)
def test_counting_backwards_from_today_agrees_with_counting_each_day(
    tickets: list[tuple[str | None, datetime, int | None]], now: datetime, days: int
) -> None:
    # Only tickets opened by now, resolved (if at all) after opening and by now.
    history = [
        (level, created, None if lasted is None else created + timedelta(seconds=lasted))
        for level, created, lasted in tickets
        if created <= now and (lasted is None or created + timedelta(seconds=lasted) <= now)
    ]
    assert _counted_backwards(history, now, days) == _brute_force(history, now, days)


def test_the_feed_is_valid_atom_with_one_entry_per_update() -> None:
    document = atom.render(
        feed_id="https://status.example/acme",
        title="Acme status",
        link="https://status.example/acme",
        updated=T0,
        entries=[
            atom.Entry("u2", "Outage: resolved", "All fine <again>", "https://x/#2", T0),
            atom.Entry("u1", "Outage: investigating", "Down & out", "https://x/#1", T0),
        ],
    )
    root = ElementTree.fromstring(document.encode())
    ns = {"a": atom.ATOM}
    assert root.tag == f"{{{atom.ATOM}}}feed"
    assert root.findtext("a:updated", namespaces=ns) == T0.isoformat()
    entries = root.findall("a:entry", ns)
    assert [e.findtext("a:summary", namespaces=ns) for e in entries] == [
        "All fine <again>",
        "Down & out",
    ]
    assert all(e.find("a:author/a:name", ns) is not None for e in entries)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("service=api", [("service", "=", "api")]),
        (
            "service!=api, severity=~crit.*",
            [("service", "!=", "api"), ("severity", "=~", "crit.*")],
        ),
        ("alertname !~ Watchdog", [("alertname", "!~", "Watchdog")]),
        ("env=", [("env", "=", "")]),
    ],
)
def test_silence_matchers_typed_in_alertmanagers_words(
    text: str, parsed: list[tuple[str, str, str]]
) -> None:
    assert [(m.name, m.op, m.value) for m in _matchers(text)] == parsed


@pytest.mark.parametrize("text", ["service", "=api", "9lives=x"])
def test_a_matcher_that_is_not_one_is_refused_by_name(text: str) -> None:
    with pytest.raises(Invalid) as refused:
        _matchers(text)
    assert refused.value.field == "matchers"


@pytest.mark.parametrize(
    ("then", "goes_to"),
    [
        ("/app/incidents/3", "/app/incidents/3"),
        ("//evil.example/", "/app"),
        ("https://evil.example/", "/app"),
        ("/\\evil.example", "/app"),
        ("", "/app"),
        (None, "/app"),
    ],
)
def test_after_sign_in_only_paths_on_this_site_are_followed(then: str | None, goes_to: str) -> None:
    assert _safe_then(then) == goes_to
