"""People across capabilities: what changes everywhere when someone leaves."""
