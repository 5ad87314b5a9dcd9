"""What the intake's writer process reuses across batches, and for how long."""

from __future__ import annotations

from fireline.intake.service import Recall


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
