"""argon2id hashing, transparent rehash, imported bcrypt hashes."""

from __future__ import annotations

import bcrypt

from identa.identity.passwords import PasswordHasher

FAST = {"memory_cost_kib": 1024, "time_cost": 1, "parallelism": 1}


def test_hash_is_argon2id_with_the_configured_cost() -> None:
    hasher = PasswordHasher(**FAST)
    stored = hasher.hash_sync("secret")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert hasher.verify_sync(stored, "secret").ok
    assert not hasher.verify_sync(stored, "Secret").ok


def test_changed_parameters_ask_for_a_rehash() -> None:
    stored = PasswordHasher(**FAST).hash_sync("secret")
    stronger = PasswordHasher(memory_cost_kib=2048, time_cost=2, parallelism=1)
    result = stronger.verify_sync(stored, "secret")
    assert result.ok and result.needs_rehash
    assert not stronger.verify_sync(stronger.hash_sync("secret"), "secret").needs_rehash


def test_imported_bcrypt_hashes_verify_and_migrate() -> None:
    hasher = PasswordHasher(**FAST)
    for prefix in (b"2a", b"2b"):
        stored = bcrypt.hashpw(b"secret", bcrypt.gensalt(rounds=4, prefix=prefix)).decode()
        result = hasher.verify_sync(stored, "secret")
        assert result.ok and result.needs_rehash
        assert not hasher.verify_sync(stored, "wrong").ok
    y_hash = "$2y$" + bcrypt.hashpw(b"secret", bcrypt.gensalt(rounds=4)).decode()[4:]
    assert hasher.verify_sync(y_hash, "secret").ok


def test_missing_or_garbage_hash_never_verifies() -> None:
    hasher = PasswordHasher(**FAST)
    assert not hasher.verify_sync(None, "x").ok
    assert not hasher.verify_sync("plaintext", "plaintext").ok
