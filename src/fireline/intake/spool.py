"""A durable local spool for senders that never retry (Sentry's webhooks).

While the database is unreachable, such a request is written to local disk (fsync'd file,
atomic rename, fsync'd directory) and answered 202; a drainer hands each spooled request to
intake once the database is back and deletes it only after its alerts committed. A crash
between the commit and the delete replays that request once: its alerts then count as a
repeat occurrence of the same ticket, never as a second ticket.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("fireline.intake")


@dataclass(frozen=True, slots=True)
class Spooled:
    kind: str
    key: str
    headers: dict[str, str]
    body: bytes


class Spool:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        # Spooled requests whose own commit is still under way (a slow Sentry hook): not
        # drained meanwhile, and withdrawn if that commit goes through.
        self._held: set[Path] = set()

    def hold(self, path: Path) -> None:
        self._held.add(path)

    def release(self, path: Path, taken_in: bool) -> None:
        """The held request's own commit ended: withdrawn if it took the request in, else
        left for the drain."""
        if taken_in:
            path.unlink(missing_ok=True)
        self._held.discard(path)

    def put(self, item: Spooled) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        record = {
            "kind": item.kind,
            "key": item.key,
            "headers": item.headers,
            "body": base64.b64encode(item.body).decode(),
        }
        # Names sort in arrival order, so the drain keeps the sender's order.
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex}.json"
        temporary = self.directory / f".{name}.tmp"
        with open(temporary, "wb") as out:
            out.write(json.dumps(record).encode())
            out.flush()
            os.fsync(out.fileno())
        final = self.directory / name
        os.replace(temporary, final)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return final

    def waiting(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.suffix == ".json")

    @staticmethod
    def read(path: Path) -> Spooled:
        record = json.loads(path.read_bytes())
        return Spooled(
            record["kind"], record["key"], record["headers"], base64.b64decode(record["body"])
        )

    def drain(self, handle: Callable[[Spooled], None]) -> int:
        """Hand each spooled request to `handle` in arrival order; delete it once handled.
        Stops at the first failure (the database is still down): the rest wait."""
        done = 0
        for path in self.waiting():
            if path in self._held:
                continue
            try:
                handle(self.read(path))
            except Exception as error:  # the database may still be down: keep it, retry later
                log.warning("spooled request %s not yet taken in: %s", path.name, error)
                break
            path.unlink()
            done += 1
        return done


class Drainer:
    """Drains the spool every `interval` seconds in a background thread."""

    def __init__(self, spool: Spool, handle: Callable[[Spooled], None], interval: float) -> None:
        self.spool, self.handle, self.interval = spool, handle, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fireline-spool", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.spool.drain(self.handle)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
