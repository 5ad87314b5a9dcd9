"""An Atom feed (RFC 4287) of published status updates; pure: values in, XML text out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    title: str
    summary: str
    link: str
    updated: datetime


def render(
    *, feed_id: str, title: str, link: str, updated: datetime, entries: Sequence[Entry]
) -> str:
    """The feed document; `updated` is the newest entry's time, or the page's when empty."""
    ElementTree.register_namespace("", ATOM)
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    ElementTree.SubElement(feed, f"{{{ATOM}}}id").text = feed_id
    ElementTree.SubElement(feed, f"{{{ATOM}}}title").text = title
    ElementTree.SubElement(feed, f"{{{ATOM}}}updated").text = updated.isoformat()
    ElementTree.SubElement(feed, f"{{{ATOM}}}link", href=link, rel="alternate")
    ElementTree.SubElement(feed, f"{{{ATOM}}}link", href=link + "/feed.atom", rel="self")
    for item in entries:
        entry = ElementTree.SubElement(feed, f"{{{ATOM}}}entry")
        ElementTree.SubElement(entry, f"{{{ATOM}}}id").text = item.id
        ElementTree.SubElement(entry, f"{{{ATOM}}}title").text = item.title
        ElementTree.SubElement(entry, f"{{{ATOM}}}updated").text = item.updated.isoformat()
        ElementTree.SubElement(entry, f"{{{ATOM}}}link", href=item.link, rel="alternate")
        ElementTree.SubElement(entry, f"{{{ATOM}}}summary").text = item.summary
        author = ElementTree.SubElement(entry, f"{{{ATOM}}}author")
        ElementTree.SubElement(author, f"{{{ATOM}}}name").text = title
    body = ElementTree.tostring(feed, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body
