"""Which channel delivers which kind of contact method."""

from __future__ import annotations

from dataclasses import dataclass, field

from fireline.clock.now import Clock
from fireline.notify.channels import apprise_channel, inbox, smtp, webhook
from fireline.notify.channels.delivery import Delivery, DeliveryFailed
from fireline.store.db import Database

KINDS = ("inbox", "email", "webhook", "apprise")


@dataclass
class Channels:
    db: Database
    clock: Clock
    webhook_secret: str  # for webhooks made before each had its own secret
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "fireline@localhost"
    http: webhook.KeepAlive = field(default_factory=webhook.KeepAlive)

    def send(self, delivery: Delivery) -> None:
        if delivery.kind == "inbox":
            inbox.send(delivery, self.db, self.clock.now())
        elif delivery.kind == "webhook":
            webhook.send(delivery, delivery.secret or self.webhook_secret, self.http)
        elif delivery.kind == "apprise":
            apprise_channel.send(delivery)
        elif delivery.kind == "email":
            smtp.send(delivery, self.smtp_host, self.smtp_port, self.smtp_sender)
        else:
            raise DeliveryFailed(f"no channel delivers {delivery.kind!r}", retry=False)
