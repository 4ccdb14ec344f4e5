"""User search: Auth0's query language for GET /api/v2/users (`q`, search_engine=v3), compiled to
a SQLAlchemy WHERE clause over `users` for SQLite (JSON1) and PostgreSQL (JSONB).

    select(User).where(compile_user_query(q, dialect_name)).order_by(*sort_clause(sort))

The syntax is Lucene's query-string syntax, parsed by luqum. What it means here:

Fields and values
  * `field:value` matches the whole value (fields are not tokenized); `field:"two words"` is an
    exact phrase. Escape special characters with a backslash (`name:John\\ Doe`).
  * Case-insensitive: email, name, given_name, family_name, nickname, and terms without a field.
    Everything else is case-sensitive, metadata included. (On SQLite, `lower()` folds ASCII only.)
  * Searchable: user_id, email, email_verified, username, phone_number, phone_verified, name,
    given_name, family_name, nickname, created_at, updated_at, last_login, last_ip, logins_count,
    blocked; identities.connection, identities.provider, identities.user_id, identities.isSocial
    (true when any one identity matches); email.domain (everything after the @,
    case-insensitive); user_metadata.<path> and app_metadata.<path> (path parts [A-Za-z0-9_-]+).
    `picture` is not searchable; the `.raw` suffix is refused; anything else is an unknown field.
  * A term without a field searches email, name, given_name, family_name, nickname, username and
    user_id (case-insensitive), never metadata.
  * Booleans are `true`/`false`; logins_count takes integers.

Wildcards
  * Only `*` (zero or more characters); `?` is refused. `name:j*` (prefix) always works;
    a pattern starting with `*` (`name:*usa`, `name:*ich*`) needs at least 3 other characters.
    `field:*` means the field has a value; `*` alone matches every user. Inside quotes `*` is
    a literal character. Wildcards apply to text fields and metadata strings, not to numbers,
    booleans or dates.

Ranges
  * `[a TO b]` inclusive, `{a TO b}` exclusive, mixable (`[a TO b}`), `*` for an open end; also
    `field:>=a`, `>a`, `<=b`, `<b`. On logins_count (integers), created_at, updated_at,
    last_login (dates), text fields (code-point order), and — beyond Auth0 — on metadata.
  * A date is `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or an ISO 8601 date-time (`2017-12-31T10:00:00Z`;
    UTC unless it carries an offset, which needs quotes: `"2017-12-31T10:00:00+02:00"`).
    A date names the whole period it spells, as Elasticsearch rounds dates:
    `last_login:[* TO 2017-12]` includes all of December 2017, `{* TO 2017-12}` stops before
    it, `{2017-12 TO *]` starts in January 2018, and `created_at:2017-12-31` is that whole day.

Operators
  * AND, OR, NOT (also `-term`; `+term` is the term), grouping `( )`, field groups
    `name:("a" OR "b")`. AND binds tighter than OR. Terms side by side are combined with AND
    (`a b` = `a AND b`); that implicit AND binds loosest: `a b OR c` is `a AND (b OR c)`.
  * NOT follows Lucene, not SQL: `NOT name:x` includes users with no name.
  * Boosts (`^2`) are accepted and ignored; fuzzy/proximity (`~`) and regular expressions are
    refused.

Existence
  * `_exists_:field`: root fields are not NULL; identities.* means the user has an identity;
    metadata paths hold a value that is not null, not an empty array and not an empty object
    (Auth0 does not index those).

Metadata
  * Dotted paths walk objects and look through arrays at every step:
    `user_metadata.interests:fitness` matches {"interests": ["running", "fitness"]},
    `user_metadata.addresses.city:Paris` matches {"addresses": [{"city": "Paris"}]}.
    (Arrays nested directly in arrays are outside the contract: the two databases differ.)
  * A value matches a JSON string equal to it and, when it spells one, the JSON number or
    boolean: `user_metadata.age:30` matches 30, 30.0 and "30"; `app_metadata.beta:true`
    matches true and "true". Quoting does not change this.
  * Ranges compare numbers when every bound is a number (`user_metadata.age:[20 TO 40]` sees
    only JSON numbers), otherwise strings by code point (`[1990-01-01 TO 1999-12-31]` on a
    birthdate string). Wildcards match JSON strings only. Both are Identa extensions.
  * PostgreSQL uses SQL/JSON paths (`@?`), which the GIN (jsonb_path_ops) indexes of migration
    0006 serve for equality; SQLite reads the user_search_terms table that triggers keep in step
    with the documents (identa.search.index).

Limits (InvalidQuery): 2,000 characters, 20 levels of nesting, 100 terms (SQLite can parse the
SQL of the largest query these limits allow).

Log search (GET /api/v2/logs) is this language over the log fields: identa.search.logs.

Sorting: `sort_clause("created_at:-1")` takes Auth0's `field:1|-1` on a root field; users
without a value come last; user_id breaks ties.
"""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement

from identa.search.analyzer import parse_user_query
from identa.search.errors import InvalidQuery
from identa.search.sort import sort_clause
from identa.search.sql import build

__all__ = ["InvalidQuery", "compile_user_query", "parse_user_query", "sort_clause"]


def compile_user_query(query: str, dialect_name: str) -> ColumnElement[bool]:
    """The WHERE clause for `query` on `dialect_name` ("sqlite" or "postgresql").

    Raises InvalidQuery (a 400 for the caller) when the query cannot be run.
    """
    return build(parse_user_query(query), dialect_name)
