"""Alembic environment: runs migrations on the URL that `fireline db upgrade` passes in."""

from __future__ import annotations

from alembic import context

from fireline.store.db import make_engine
from fireline.store.models import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
