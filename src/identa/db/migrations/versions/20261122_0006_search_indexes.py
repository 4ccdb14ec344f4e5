"""user search indexes

PostgreSQL: expression indexes in the C collation on the lowercased text fields (equality, prefix
wildcards, ranges), trigram GIN on lower(email) and lower(name) (infix and suffix wildcards,
email.domain), GIN jsonb_path_ops on both metadata documents (equality), and B-trees on
logins_count, user_id (case-sensitive prefix) and identities(connection_name, user_id).

SQLite: the same B-trees, plus `user_search_terms`, one row per scalar (and non-empty object) in
the metadata documents, kept up to date by triggers on `users`, so every write path — the ORM,
Core inserts of a bulk import, plain SQL — keeps it current without any application code.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Compared lowercased; a term without a field searches all seven.
FOLDED = ("email", "name", "given_name", "family_name", "nickname", "username", "user_id")
TRIGRAM = ("email", "name")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_index("ix_users_logins_count", "users", ["logins_count"])
    op.create_index(
        "ix_identities_connection_name_user_id", "identities", ["connection_name", "user_id"]
    )
    if dialect == "postgresql":
        _postgresql_upgrade()
    elif dialect == "sqlite":
        _sqlite_upgrade()


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for name in _postgresql_index_names():
            op.execute(f"DROP INDEX IF EXISTS {name}")
    elif dialect == "sqlite":
        for name in FOLDED:
            op.execute(f"DROP INDEX IF EXISTS ix_users_lower_{name}")
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS users_search_terms_{trigger}")
        op.execute("DROP TABLE IF EXISTS user_search_terms")
        op.execute("DROP TABLE IF EXISTS search_terms_paused")
    op.drop_index("ix_identities_connection_name_user_id", "identities")
    op.drop_index("ix_users_logins_count", "users")


# PostgreSQL -----------------------------------------------------------------------------------
# The search compiler compares text as `lower(col) COLLATE "C"` (code-point order, as SQLite and
# JSON paths do); an index only serves a comparison in its own collation, and in "C" a plain
# B-tree also serves LIKE 'prefix%'. pg_trgm is a trusted extension (PostgreSQL ≥ 13): the
# database owner may create it.


def _postgresql_index_names() -> list[str]:
    return [
        *(f"ix_users_lower_{name}" for name in FOLDED),
        *(f"ix_users_lower_{name}_trgm" for name in TRIGRAM),
        "ix_users_user_id_c",
        "ix_users_user_metadata_path_ops",
        "ix_users_app_metadata_path_ops",
    ]


def _postgresql_upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name in FOLDED:
        op.execute(f'CREATE INDEX ix_users_lower_{name} ON users ((lower({name})) COLLATE "C")')
    for name in TRIGRAM:
        op.execute(
            f"CREATE INDEX ix_users_lower_{name}_trgm ON users "
            f'USING gin ((lower({name})) COLLATE "C" gin_trgm_ops)'
        )
    op.execute('CREATE INDEX ix_users_user_id_c ON users (user_id COLLATE "C")')
    for document in ("user_metadata", "app_metadata"):
        op.execute(
            f"CREATE INDEX ix_users_{document}_path_ops ON users "
            f"USING gin ({document} jsonb_path_ops)"
        )
    op.execute("ANALYZE users")
    op.execute("ANALYZE identities")


# SQLite ---------------------------------------------------------------------------------------
# `field` is the path as a query names it ("user_metadata.addresses.city"): arrays add no step,
# as search looks through them. `value` has no type affinity, so "30" stays text and 30 a number
# (30 and 30.0 compare equal); booleans are stored as the text 'true'/'false' with type
# 'true'/'false' (a query value `true` matches both, as documented), and non-empty objects as an
# empty blob with type 'object' (only `_exists_` looks at them). Nulls, empty objects and arrays
# themselves are not stored: Auth0 does not index them. Keys that a query cannot name (outside
# [A-Za-z0-9_-]) are skipped with everything below them. Clustered by user, so a write replaces a
# user's rows with one range delete; the second index serves the searches and covers them.

_TERMS_TABLE = """
CREATE TABLE user_search_terms (
    user_id VARCHAR(255) NOT NULL,
    field TEXT NOT NULL,
    value NOT NULL,
    type TEXT NOT NULL,
    PRIMARY KEY (user_id, field, value, type)
) WITHOUT ROWID
"""
_TERMS_INDEX = "CREATE INDEX ix_user_search_terms_field_value ON user_search_terms (field, value)"


def _walk(row: str, source: str = "") -> str:
    """The (user_id, field, value, type) rows of the metadata of `row` (NEW, OLD or users)."""
    seeds = " UNION ALL ".join(
        f"SELECT {row}.user_id, '{document}', {row}.{document}, json_type({row}.{document}){source}"
        for document in ("user_metadata", "app_metadata")
    )
    # Built from constants only (the row alias and the two document names).
    return f"""
    WITH RECURSIVE walk(user_id, field, value, type) AS (
        {seeds}
        UNION ALL
        SELECT walk.user_id,
               CASE walk.type WHEN 'array' THEN walk.field ELSE walk.field || '.' || e.key END,
               e.value, e.type
        FROM walk, json_each(walk.value) AS e
        WHERE walk.type IN ('object', 'array')
          AND (walk.type = 'array' OR e.key NOT GLOB '*[^A-Za-z0-9_-]*')
    )
    SELECT user_id, field,
           CASE type WHEN 'object' THEN x'' WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                     ELSE value END,
           type
    FROM walk
    WHERE instr(field, '.') > 0
      AND type NOT IN ('null', 'array')
      AND (type != 'object' OR value != '{{}}')
    """  # noqa: S608


def _insert_terms(row: str, source: str = "") -> str:
    return (
        "INSERT OR IGNORE INTO user_search_terms (user_id, field, value, type) "  # noqa: S608
        f"SELECT * FROM ({_walk(row, source)})"
    )


def _sqlite_upgrade() -> None:
    for name in FOLDED:
        op.execute(f"CREATE INDEX ix_users_lower_{name} ON users (lower({name}))")
    op.execute(_TERMS_TABLE)
    op.execute(_insert_terms("users", " FROM users"))
    op.execute(_TERMS_INDEX)
    # A bulk import pauses the insert trigger (a row here, inside its own transaction) and
    # writes the terms itself with one executemany: see identa.search.index.
    op.execute("CREATE TABLE search_terms_paused (id INTEGER PRIMARY KEY)")
    op.execute(
        "CREATE TRIGGER users_search_terms_insert AFTER INSERT ON users "  # noqa: S608
        "WHEN NOT EXISTS (SELECT 1 FROM search_terms_paused) BEGIN "
        f"{_insert_terms('NEW')}; END"
    )
    op.execute(
        "CREATE TRIGGER users_search_terms_update "  # noqa: S608
        "AFTER UPDATE OF user_id, user_metadata, app_metadata ON users BEGIN "
        "DELETE FROM user_search_terms WHERE user_id = OLD.user_id; "
        f"{_insert_terms('NEW')}; END"
    )
    op.execute(
        "CREATE TRIGGER users_search_terms_delete AFTER DELETE ON users BEGIN "
        "DELETE FROM user_search_terms WHERE user_id = OLD.user_id; END"
    )
    # No ANALYZE here: statistics taken now, on a young database, would mislead the planner once
    # it has grown; `PRAGMA optimize` (see README, "Search indexing") refreshes them.
