"""Alert intake: payloads from monitoring tools become tickets, deduplicated and routed."""
