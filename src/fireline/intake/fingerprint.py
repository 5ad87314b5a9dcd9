"""An alert's identity: repeats of one problem share a fingerprint, so they join one ticket."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from fireline.intake.alert import IncomingAlert

DEFAULT_FIELDS = ("service", "title", "labels")
MAX_KEY = 255


def fingerprint(alert: IncomingAlert, fields: Sequence[str] = DEFAULT_FIELDS) -> str:
    """The source's key when it sends one (Alertmanager's fingerprint, PagerDuty's dedup_key,
    Sentry's issue), else a hash of the configured fields. Namespaced by source, so two
    sources' keys never collide."""
    if alert.key:
        key = f"{alert.source}:{alert.key}"
        if len(key) <= MAX_KEY:
            return key
        digest = hashlib.sha256(alert.key.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{alert.source}:sha256:{digest}"
    chosen: dict[str, object] = {}
    for name in fields:
        if name.startswith("labels."):
            chosen[name] = alert.labels.get(name.removeprefix("labels."))
        elif name == "labels":
            chosen[name] = dict(sorted(alert.labels.items()))
        else:
            chosen[name] = getattr(alert, name, None)
    digest = hashlib.sha256(
        json.dumps(chosen, sort_keys=True, default=str).encode("utf-8", "surrogatepass")
    ).hexdigest()
    return f"{alert.source}:sha256:{digest}"
