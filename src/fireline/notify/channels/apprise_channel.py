"""Chat, push and SMS services through Apprise: any Apprise URL is a contact method.

Apprise has no idempotency key to pass, so the key goes into the message text; a duplicate
(only after a crash between sending and recording) shows the same key twice.
"""

from __future__ import annotations

import apprise

from fireline.notify.channels.delivery import Delivery, DeliveryFailed


def understands(url: str) -> bool:
    """Whether `url` names a service this installation of Apprise can reach."""
    return bool(apprise.Apprise().add(url))


def send(delivery: Delivery) -> None:
    notifier = apprise.Apprise()
    if not notifier.add(delivery.target):
        raise DeliveryFailed("not an Apprise URL this installation understands", retry=False)
    sent = notifier.notify(title=delivery.subject, body=f"{delivery.body}\n\n(page {delivery.key})")
    if not sent:
        raise DeliveryFailed("the Apprise service did not accept the page")
