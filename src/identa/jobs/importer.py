"""Users imports: parse the whole file, then validate and write it chunk by chunk.

Each chunk is one transaction: the new users with their identities and credentials (the driver's
executemany, COPY on PostgreSQL), the upserts, the refused records, and the job's checkpoint.
Nothing is written per row, and a crash between chunks loses nothing and duplicates nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from identa.analytics.bulk_effects import paused_insert_triggers
from identa.connections.models import Connection
from identa.enrichment.service import imported_customer, record_imported
from identa.identity.bulk import BulkUsers, ImportedUser, UserUpdate
from identa.jobs.errors import InvalidImportFile
from identa.jobs.records import ErrorList, RecordValidator, ValidRecord, error

Checked = ValidRecord | ErrorList
INPUT_PIECE_BYTES = 8 * 1024 * 1024


def parse_users_file(data: bytes) -> list[Any]:
    """The uploaded file: a JSON array (UTF-8, a BOM tolerated). Raises InvalidImportFile."""
    if not data.strip():
        raise InvalidImportFile("The users file is empty.")
    try:
        records = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidImportFile(f"The users file is not valid JSON: {exc}") from exc
    if not isinstance(records, list):
        raise InvalidImportFile("The users file must contain a JSON array of users.")
    return records


def split_pieces(data: bytes) -> list[bytes]:
    return [data[i : i + INPUT_PIECE_BYTES] for i in range(0, len(data), INPUT_PIECE_BYTES)] or [
        b""
    ]


def check_records(records: Sequence[Any], validator: RecordValidator) -> list[Checked]:
    """Validates every record; a later record repeating an e-mail, username or user_id of an
    earlier one is refused (the first one is imported)."""
    return RecordChecker(validator).check(records)


class RecordChecker:
    """`check_records` piece by piece: each call checks the records following those of the
    previous calls (the repeats are looked for across all of them). The worker checks the next
    chunk in a thread while the database writes the current one."""

    def __init__(self, validator: RecordValidator) -> None:
        self._validator = validator
        self._seen: dict[tuple[str, str], int] = {}
        self._position = 0

    def check(self, records: Sequence[Any]) -> list[Checked]:
        checked: list[Checked] = [self._validator.validate(raw) for raw in records]
        seen, first_position = self._seen, self._position
        self._position += len(records)
        for offset, result in enumerate(checked):
            if not isinstance(result, ValidRecord):
                continue
            user = result.user
            keys = [("email", user.email), ("user_id", user.local_id)]
            if user.username:
                keys.append(("username", user.username))
            clash = next(
                ((name, seen[(name, value)]) for name, value in keys if (name, value) in seen),
                None,
            )
            if clash is not None:
                name, first = clash
                checked[offset] = [
                    error(
                        "DUPLICATED_USER",
                        f"The {name} is also used by record {first} of this file.",
                        name,
                    )
                ]
                continue
            for key in keys:
                seen[key] = first_position + offset
        return checked


@dataclass
class ChunkResult:
    inserted: int = 0
    updated: int = 0
    refused: list[tuple[int, Any, ErrorList]] = field(default_factory=list)


async def write_chunk(
    db: AsyncSession,
    connection: Connection,
    *,
    upsert: bool,
    start: int,
    raw: Sequence[Any],
    checked: Sequence[Checked],
    now: datetime,
) -> ChunkResult:
    """Writes records [start, start + len(raw)) of the file in the caller's transaction."""
    result = ChunkResult()
    valid: list[tuple[int, ValidRecord]] = []
    for offset, item in enumerate(checked):
        if isinstance(item, ValidRecord):
            valid.append((start + offset, item))
        else:
            result.refused.append((start + offset, raw[offset], item))
    bulk = BulkUsers(db, paused_insert_triggers)
    taken = await bulk.taken(
        connection.id,
        emails=[v.user.email for _, v in valid],
        usernames=[v.user.username for _, v in valid if v.user.username],
        local_ids=[v.user.local_id for _, v in valid],
    )
    inserts: list[ImportedUser] = []
    updates: list[UserUpdate] = []
    for position, record in valid:
        user = record.user
        existing = taken.emails.get(user.email)
        if existing is not None:
            if not upsert:
                result.refused.append(
                    (position, raw[position - start], [
                        error("DUPLICATED_USER",
                              "The user already exist and upsert parameter is false", "email")
                    ])
                )  # fmt: skip
                continue
            updates.append(UserUpdate(existing, record.changes, record.custom_hash))
            continue
        problem = None
        if user.username and user.username in taken.usernames:
            problem = error(
                "CONFLICT_USERNAME", "The username provided is in use already.", "username"
            )
        elif user.user_id in taken.user_ids or user.local_id in taken.local_ids:
            problem = error("CONFLICT", "The user_id provided is in use already.", "user_id")
        if problem is not None:
            result.refused.append((position, raw[position - start], [problem]))
            continue
        inserts.append(user)
    # Demographics as a login would read them, so segments find imported customers at once.
    customers = [
        imported_customer(user.user_id, user.user_metadata, user.app_metadata, now)
        for user in inserts
    ]
    inserts = [
        replace(user, app_metadata=customer.app_metadata)
        for user, customer in zip(inserts, customers, strict=True)
    ]
    await bulk.insert(connection, inserts, now)
    await record_imported(db, customers, now)
    await bulk.update(connection.id, updates, now)
    result.inserted, result.updated = len(inserts), len(updates)
    result.refused.sort(key=lambda item: item[0])
    return result
