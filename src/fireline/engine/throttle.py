"""Storm control, pure: how many pages a person may get by one method in a window, and the
window a bundled page's summary belongs to (GoAlert's message throttling is the model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fireline.policy.schema import PageLimits

BUNDLE = "bundle."


def over_limit(sent_in_window: int, limits: PageLimits) -> bool:
    return sent_in_window >= limits.max_pages


def window_of(now: datetime, limits: PageLimits) -> tuple[datetime, datetime]:
    """The fixed window holding `now`: summaries of one window share one key."""
    size = timedelta(minutes=limits.window_minutes)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start = epoch + ((now.astimezone(UTC) - epoch) // size) * size
    return start, start + size


def summary_key(user_id: int | None, method_id: int | None, window_start: datetime) -> str:
    return f"{BUNDLE}u{user_id}.m{method_id or 0}.w{int(window_start.timestamp())}"


def summary_window(key: str) -> datetime:
    """The start of the window a summary key was made for."""
    return datetime.fromtimestamp(int(key.rsplit(".w", 1)[1]), UTC)


def summary_text(subjects: list[str]) -> tuple[str, str]:
    """(subject, body) of a summary for the pages bundled in a window."""
    services = sorted(set(subjects))
    shown = "\n".join(f"- {s}" for s in services[:20])
    more = f"\n… and {len(services) - 20} more" if len(services) > 20 else ""
    noun = "alert" if len(subjects) == 1 else "alerts"
    return f"{len(subjects)} more {noun} held back in a storm", f"{shown}{more}"
