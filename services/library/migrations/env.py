"""Alembic environment of the library: run by `batik db upgrade`, by the service at start and by the
k8s migration Job. The database URL comes from the Alembic config (set by `migrations.upgrade`), never
from alembic.ini. On PostgreSQL an advisory lock makes replicas that start together migrate one at a
time (the later ones find the schema at head and do nothing)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from services.library.schema import Base

MIGRATION_LOCK = 7_242_020  # any constant shared by every process that migrates this database

config = context.config


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
                connection.commit()
            try:
                context.configure(
                    connection=connection,
                    target_metadata=Base.metadata,
                    render_as_batch=True,  # SQLite alters tables by copying them
                )
                with context.begin_transaction():
                    context.run_migrations()
            finally:
                if postgres:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK}
                    )
                    connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
