"""Key pairs shared by the crypto tests (generating ML-DSA-87 and ML-KEM-1024 keys costs time)."""

from __future__ import annotations

from functools import cache

from qsafecity.crypto import KeyPair, Profile


@cache
def key_pair(profile: Profile, name: str = "default") -> KeyPair:
    """One key pair per (profile, name), made once per test session."""
    del name  # only distinguishes cache entries
    return KeyPair.generate(profile)
