"""Email over SMTP; the idempotency key becomes the Message-ID, so mail systems can dedupe."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from fireline.notify.channels.delivery import Delivery, DeliveryFailed


def send(delivery: Delivery, host: str, port: int, sender: str) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = delivery.target
    message["Subject"] = delivery.subject
    message["Message-ID"] = f"<{delivery.key}@fireline>"
    message.set_content(delivery.body)
    try:
        with smtplib.SMTP(host, port, timeout=10) as server:
            server.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        raise DeliveryFailed(f"email to {delivery.target} refused: {error}", retry=False) from None
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryFailed(f"email to {delivery.target}: {error}") from None
