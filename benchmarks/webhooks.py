"""CPU per outgoing webhook: Fireline's sender (signing, JSON, a kept-alive connection)
against a local keep-alive receiver in its own process, one request at a time.

    .venv/bin/python benchmarks/webhooks.py [--requests N]

Prints the sender's CPU and wall time per request; the receiver's CPU is not counted.
"""

from __future__ import annotations

import argparse
import time

from machine import describe
from receiver import webhook_receiver

from fireline.notify.channels.delivery import Delivery
from fireline.notify.channels.webhook import KeepAlive, send


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    print(describe())
    with webhook_receiver() as (url, received):
        connections = KeepAlive()
        page = Delivery(1, "k" * 40, "webhook", url, "[P1] #1 subject", "body", 1, 1)
        for _ in range(100):
            send(page, "secret", connections)
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            send(page, "secret", connections)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        connections.close()
    print(
        f"{args.requests:,} webhooks: {cpu / args.requests * 1e6:.0f} µs CPU and "
        f"{wall / args.requests * 1e6:.0f} µs wall each (receiver counted {received.value:,})"
    )


if __name__ == "__main__":
    main()
