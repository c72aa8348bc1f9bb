"""Quantum-secure cryptography for city traffic: a small, typed, safe layer over pyca/cryptography.

Everything an application needs is importable from here; nothing here makes its own primitives.

========================= ==========================================================================
what                      API
========================= ==========================================================================
profiles and tiers        :class:`Profile` (``pqc``, ``critical``), :func:`required_profile`
keys                      :class:`KeyPair`, :class:`KEMPrivateKey`, :class:`KEMPublicKey`,
                          :class:`SigningKey`, :class:`VerifyingKey`
one-shot sealed messages  :func:`seal`, :func:`open_sealed`, :func:`inspect_sealed`
sessions                  :class:`Session` (``initiate`` / ``accept``), :class:`RekeyPolicy`
replay protection         :class:`ReplayWindow`
QKD + PQC                 :func:`combine_qkd_pqc`, :class:`QKDKey`
secrets at rest           :class:`SecretBox` (AES-256-GCM, versioned, context-bound)
entropy                   :class:`RandomSource`, :class:`OSRandom`, :class:`HealthTestedRandom`
algorithm facts           :mod:`qsafecity.crypto.registry` (= :mod:`qsafecity.algorithms`)
========================= ==========================================================================

Errors: opening anything that fails any check raises :class:`~qsafecity.errors.CryptoError`
with the same message; a key file that cannot be used raises
:class:`~qsafecity.errors.KeyFormatError`; sealing for a tier that the key's profile cannot
protect raises :class:`~qsafecity.errors.PolicyViolation`. See ``docs/crypto.md``.
"""

from __future__ import annotations

from qsafecity.crypto import registry
from qsafecity.crypto.combiner import QKDKey, combine_qkd_pqc
from qsafecity.crypto.entropy import (
    HealthTestedRandom,
    OSRandom,
    RandomSource,
    adaptive_proportion_cutoff,
    repetition_count_cutoff,
)
from qsafecity.crypto.keys import KEMPrivateKey, KEMPublicKey, KeyPair, SigningKey, VerifyingKey
from qsafecity.crypto.profiles import Profile, ProfileSpec, required_profile, satisfies
from qsafecity.crypto.replay import ReplayWindow
from qsafecity.crypto.sealed import Opened, SealedHeader, inspect_sealed, open_sealed, seal
from qsafecity.crypto.secretbox import SecretBox
from qsafecity.crypto.session import RekeyPolicy, Session

__all__ = [
    "HealthTestedRandom",
    "KEMPrivateKey",
    "KEMPublicKey",
    "KeyPair",
    "OSRandom",
    "Opened",
    "Profile",
    "ProfileSpec",
    "QKDKey",
    "RandomSource",
    "RekeyPolicy",
    "ReplayWindow",
    "SealedHeader",
    "SecretBox",
    "Session",
    "SigningKey",
    "VerifyingKey",
    "adaptive_proportion_cutoff",
    "combine_qkd_pqc",
    "inspect_sealed",
    "open_sealed",
    "registry",
    "repetition_count_cutoff",
    "required_profile",
    "satisfies",
    "seal",
]
