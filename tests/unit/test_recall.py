"""What the intake's writer process reuses across batches, and for how long."""

from __future__ import annotations

from fireline.intake.service import MAX_KNOWN_OPEN, KnownTicket, Recall


class Reads:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        return self.count


def test_a_value_is_reused_for_its_seconds_then_read_again() -> None:
    now = [100.0]
    recall, read = Recall(seconds=1.0, clock=lambda: now[0]), Reads()
    assert recall.get("policy", read) == 1
    now[0] += 0.999
    assert recall.get("policy", read) == 1
    now[0] += 0.001  # a change made elsewhere shows within the second, never later
    assert recall.get("policy", read) == 2
    assert recall.get("silences", read) == 3  # each key is its own


def test_with_no_seconds_each_thing_is_read_once_for_the_one_batch() -> None:
    now = [0.0]
    recall, read = Recall(seconds=0, clock=lambda: now[0]), Reads()
    now[0] += 3600
    assert [recall.get("team", read), recall.get("team", read)] == [1, 1]


def test_open_tickets_are_known_once_their_batch_committed_and_all_or_nothing() -> None:
    now = [0.0]
    recall = Recall(seconds=1.0, clock=lambda: now[0])
    a, b = KnownTicket(1, "P2", False), KnownTicket(2, None, True)
    recall.stage_open({(7, "a"): a, (7, "b"): b})
    assert recall.open_tickets([(7, "a")]) == {}  # staged, not committed yet
    recall.keep_staged()
    assert recall.open_tickets([(7, "a"), (7, "b")]) == {(7, "a"): a, (7, "b"): b}
    assert recall.open_tickets([(7, "a"), (7, "c")]) == {}  # one unknown: look them all up
    assert recall.open_tickets([(8, "a")]) == {}  # a fingerprint is its integration's own
    now[0] += 1.0
    assert recall.open_tickets([(7, "a")]) == {}  # known for `seconds`, never longer


def test_a_failed_attempt_stages_nothing_and_a_closed_ticket_is_forgotten() -> None:
    recall = Recall(seconds=60)
    recall.stage_open({(7, "a"): KnownTicket(1, None, False)})
    recall.stage_open({})  # the next attempt starts: the failed one's go
    recall.keep_staged()
    assert recall.open_tickets([(7, "a")]) == {}
    recall.stage_open({(7, "a"): KnownTicket(1, None, False)})
    recall.keep_staged()
    recall.stage_open({(7, "a"): None})  # a batch closed it
    recall.keep_staged()
    assert recall.open_tickets([(7, "a")]) == {}
    recall.stage_open({(7, "b"): KnownTicket(2, None, False)})
    recall.keep_staged()
    recall.forget_open()
    assert recall.open_tickets([(7, "b")]) == {}


def test_with_no_seconds_no_open_ticket_is_known() -> None:
    recall = Recall(seconds=0)
    recall.stage_open({(7, "a"): KnownTicket(1, None, False)})
    recall.keep_staged()
    assert recall.open_tickets([(7, "a")]) == {}


def test_a_storm_of_new_fingerprints_keeps_what_it_remembers_bounded() -> None:
    now = [0.0]
    recall = Recall(seconds=1.0, clock=lambda: now[0])
    recall.stage_open({(7, f"old{n}"): KnownTicket(n, None, False) for n in range(10)})
    recall.keep_staged()
    now[0] += 2.0
    fresh = {(7, f"new{n}"): KnownTicket(n, None, False) for n in range(MAX_KNOWN_OPEN)}
    recall.stage_open(fresh)
    recall.keep_staged()  # over the bound: the stale ten go, the fresh stay
    assert recall.open_tickets(fresh) == fresh
    recall.stage_open({(7, "one more"): KnownTicket(-1, None, False)})
    recall.keep_staged()  # still over it with only fresh ones: all go
    assert recall.open_tickets([(7, "new0")]) == {}
