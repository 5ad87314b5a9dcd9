"""Insert rows unless their unique key is taken: one atomic statement on either database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fireline.store.base import Base


def insert_new(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], key: str
) -> int:
    """Insert the rows whose `key` is not stored yet; return how many went in."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(model).values(list(rows)).on_conflict_do_nothing(index_elements=[key])
    result = session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]
