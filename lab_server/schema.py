"""The database's schema, owned by Alembic migrations (`lab_server/migrations/`).

`Store.init_schema()` calls `ensure(store)` at every start: when the database is already at
the newest revision (one cheap `SELECT` with the kit's own SQL) Alembic is not even imported,
so a start costs no more than before. Otherwise `upgrade()` runs the missing revisions. A
database made by a kit older than the migrations (tables but no `alembic_version`) is
upgraded in place: the first revision is written to be safe on it.

    lab-server db upgrade | current | history | seed
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

    from .store import Store

#: The newest revision in `migrations/versions` (a test checks that Alembic agrees).
HEAD = "0002"
MIGRATIONS = Path(__file__).parent / "migrations"
#: Key of the PostgreSQL advisory lock that keeps two processes from migrating at once.
LOCK_KEY = 0x1AB5E4


def sqlalchemy_url(url: str) -> str:
    """SQLAlchemy's name for the same database, through the kit's driver, psycopg2 (SQLAlchemy
    no longer accepts `postgres://`, and newer versions default to psycopg 3)."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgres", "postgresql"):
        return "postgresql+psycopg2://" + rest
    return url


def current_revision(store: Store) -> str | None:
    """The revision the database is at, read with the kit's SQL; None if never migrated."""
    try:
        with store.transaction(write=False) as tx:
            row = tx.execute("SELECT version_num FROM alembic_version").fetchone()
    except StoreError:
        raise
    except Exception:  # no alembic_version table yet (the driver's own error class)
        return None
    return None if row is None else str(row[0])


def ensure(store: Store) -> None:
    """Bring the database to HEAD; nearly free when it is there already."""
    if current_revision(store) != HEAD:
        upgrade(store.url)


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _run(url: str, action: Any) -> Any:
    """Run `action(config)` with a connection Alembic shares, under the migration lock."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = sqlalchemy.create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Held until this transaction ends: a second process waits, then sees HEAD.
                connection.execute(sqlalchemy.text(f"SELECT pg_advisory_xact_lock({LOCK_KEY})"))
            config = _config()
            config.attributes["connection"] = connection
            return action(config)
    except sqlalchemy.exc.OperationalError as exc:
        from .config import mask_url

        raise StoreError(
            f"No se pudo migrar la base {mask_url(url)}: {str(exc.orig).strip()}"
        ) from exc
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (Alembic's `upgrade`)."""
    from alembic import command

    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str, revision: str) -> None:
    """Undo migrations down to `revision` (`base` undoes them all)."""
    from alembic import command

    _run(url, lambda config: command.downgrade(config, revision))


def current(url: str) -> str | None:
    """The database's revision according to Alembic (None before the first migration)."""
    from alembic.migration import MigrationContext

    def read(config: Config) -> str | None:
        return MigrationContext.configure(config.attributes["connection"]).get_current_revision()

    return _run(url, read)


def history() -> list[tuple[str, str | None, str]]:
    """Every revision, oldest first: (revision, the one it revises, its first docstring line)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(_config())
    revisions = list(scripts.walk_revisions())
    return [
        (r.revision, r.down_revision, (r.doc or "").strip().splitlines()[0])
        for r in reversed(revisions)
    ]  # type: ignore[misc]


def script_head() -> str:
    """The head revision as Alembic computes it from the files."""
    from alembic.script import ScriptDirectory

    return str(ScriptDirectory.from_config(_config()).get_current_head())
