"""Outgoing webhooks keep connections alive, and survive a receiver that closes them: a real
local HTTP server on loopback, no mocks."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fireline.notify.channels.delivery import Delivery, DeliveryFailed
from fireline.notify.channels.webhook import KeepAlive, send


class Peer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, *, keep_alive: bool, status: int = 204, drop_after_answer: bool = False
    ) -> None:
        self.connections: set[tuple[str, int]] = set()
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.connections.add(self.client_address)
                outer.requests += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if drop_after_answer:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def running() -> Iterator[list[Peer]]:
    peers: list[Peer] = []
    yield peers
    for peer in peers:
        peer.shutdown()
        peer.server_close()


def start(peers: list[Peer], peer: Peer) -> Peer:
    threading.Thread(target=peer.serve_forever, daemon=True).start()
    peers.append(peer)
    return peer


def delivery(url: str, n: int = 0) -> Delivery:
    return Delivery(n, f"key-{n}", "webhook", url, "subject", "body", None, None)


def test_pages_to_one_receiver_share_one_kept_alive_connection(running: list[Peer]) -> None:
    peer = start(running, Peer(keep_alive=True))
    connections = KeepAlive()
    for n in range(20):
        send(delivery(peer.url, n), "secret", connections)
    connections.close()
    assert peer.requests == 20
    assert len(peer.connections) == 1


def test_a_receiver_that_closes_each_connection_still_gets_every_page(
    running: list[Peer],
) -> None:
    peer = start(running, Peer(keep_alive=False))
    connections = KeepAlive()
    for n in range(5):
        send(delivery(peer.url, n), "secret", connections)
    connections.close()
    assert peer.requests == 5
    assert len(peer.connections) == 5


def test_a_kept_connection_the_receiver_dropped_is_opened_anew(running: list[Peer]) -> None:
    # The receiver answers as if keeping the connection, then drops it: the next page finds
    # it dead and goes out once on a new one.
    peer = start(running, Peer(keep_alive=True, drop_after_answer=True))
    connections = KeepAlive()
    for n in range(3):
        send(delivery(peer.url, n), "secret", connections)
    connections.close()
    assert peer.requests == 3
    assert len(peer.connections) == 3


@pytest.mark.parametrize(("status", "retry"), [(500, True), (429, True), (404, False)])
def test_a_refusal_says_whether_to_try_again(running: list[Peer], status: int, retry: bool) -> None:
    peer = start(running, Peer(keep_alive=True, status=status))
    connections = KeepAlive()
    with pytest.raises(DeliveryFailed) as failed:
        send(delivery(peer.url), "secret", connections)
    connections.close()
    assert failed.value.retry is retry
    assert f"HTTP {status}" in str(failed.value)


def test_nobody_listening_is_a_failure_to_retry() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryFailed) as failed:
        send(delivery(f"http://127.0.0.1:{port}/hook"), "secret", KeepAlive(timeout=2))
    assert failed.value.retry is True


def test_a_target_that_is_not_http_is_refused() -> None:
    with pytest.raises(DeliveryFailed):
        send(delivery("ftp://example.org/hook"), "secret", KeepAlive())
