"""Password hashing: argon2id with configurable cost, transparent rehash, imported hashes
(bcrypt, and the `$identa-imported$` forms of identity.imported_hashes).

Hashing runs in a worker thread (argon2-cffi and bcrypt release the GIL), so a login never
blocks the event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import bcrypt
from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from identa.identity.imported_hashes import IMPORTED_PREFIX, verify_imported

# Refuse before hashing: argon2 would happily chew on megabytes of attacker input.
MAX_PASSWORD_BYTES = 1024


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    needs_rehash: bool = False


class PasswordHasher:
    def __init__(self, *, memory_cost_kib: int, time_cost: int, parallelism: int) -> None:
        self._argon2 = Argon2Hasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        # Verified when the account does not exist, so both answers take the same time.
        self._dummy_hash = self._argon2.hash("identa-dummy-password-for-timing")

    def hash_sync(self, password: str) -> str:
        return self._argon2.hash(password)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hash_sync, password)

    def verify_sync(self, stored_hash: str | None, password: str) -> VerifyResult:
        if not stored_hash:
            self._verify_argon2(self._dummy_hash, password)
            return VerifyResult(ok=False)
        if stored_hash.startswith(("$2a$", "$2b$", "$2y$")):
            ok = _verify_bcrypt(stored_hash, password)
            # Imported bcrypt hashes move to argon2id at the first successful login.
            return VerifyResult(ok=ok, needs_rehash=ok)
        if stored_hash.startswith(IMPORTED_PREFIX):
            ok = verify_imported(stored_hash, password)
            return VerifyResult(ok=ok, needs_rehash=ok)
        if stored_hash.startswith("$argon2"):
            ok = self._verify_argon2(stored_hash, password)
            return VerifyResult(
                ok=ok, needs_rehash=ok and self._argon2.check_needs_rehash(stored_hash)
            )
        self._verify_argon2(self._dummy_hash, password)
        return VerifyResult(ok=False)

    async def verify(self, stored_hash: str | None, password: str) -> VerifyResult:
        return await asyncio.to_thread(self.verify_sync, stored_hash, password)

    async def burn(self, password: str) -> None:
        """Spend the time of one verification, for answers that must not reveal an account."""
        await asyncio.to_thread(self._verify_argon2, self._dummy_hash, password)

    def _verify_argon2(self, stored_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def _verify_bcrypt(stored_hash: str, password: str) -> bool:
    normalized = "$2b$" + stored_hash[4:] if stored_hash.startswith("$2y$") else stored_hash
    try:
        return bcrypt.checkpw(password.encode("utf-8"), normalized.encode("ascii"))
    except ValueError:
        return False
