"""Key pairs: generation, serialisation to PEM and raw and back, encryption at rest, redaction."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa

from qsafecity.crypto import KEMPrivateKey, KEMPublicKey, Profile, SigningKey, VerifyingKey
from qsafecity.errors import CryptoError, KeyFormatError

from .keys_fixture import key_pair


@pytest.mark.parametrize("profile", list(Profile))
def test_pem_round_trips(profile: Profile) -> None:
    pair = key_pair(profile)
    kem = KEMPrivateKey.from_pem(pair.kem.to_pem())
    assert kem.fingerprint == pair.kem.fingerprint
    assert kem.to_raw() == pair.kem.to_raw()
    public = KEMPublicKey.from_pem(pair.kem.public_key.to_pem())
    assert public.raw == pair.kem.public_key.raw
    signer = SigningKey.from_pem(pair.signing.to_pem())
    assert signer.fingerprint == pair.signing.fingerprint
    verifier = VerifyingKey.from_pem(pair.signing.verifying_key.to_pem())
    verifier.verify(signer.sign(b"m", b"ctx"), b"m", b"ctx")
    assert VerifyingKey.from_raw(profile, verifier.to_raw()).fingerprint == verifier.fingerprint
    assert SigningKey.from_raw(profile, signer.to_raw()).fingerprint == signer.fingerprint
    assert KEMPrivateKey.from_raw(profile, kem.to_raw()).fingerprint == kem.fingerprint


@pytest.mark.parametrize("profile", list(Profile))
def test_encrypted_at_rest(profile: Profile) -> None:
    pair = key_pair(profile)
    kem_pem = pair.kem.to_pem(b"correct horse")
    sign_pem = pair.signing.to_pem(b"correct horse")
    assert b"ENCRYPTED" in kem_pem
    assert b"ENCRYPTED" in sign_pem
    assert KEMPrivateKey.from_pem(kem_pem, b"correct horse").fingerprint == pair.kem.fingerprint
    assert SigningKey.from_pem(sign_pem, b"correct horse").fingerprint == pair.signing.fingerprint
    for loader, pem in ((KEMPrivateKey.from_pem, kem_pem), (SigningKey.from_pem, sign_pem)):
        with pytest.raises(KeyFormatError):
            loader(pem, b"wrong")
        with pytest.raises(KeyFormatError):
            loader(pem, None)
    with pytest.raises(KeyFormatError):
        KEMPrivateKey.from_pem(pair.kem.to_pem(), b"unexpected")
    with pytest.raises(ValueError, match="empty password"):
        pair.kem.to_pem(b"")


def test_damaged_encrypted_key_is_refused() -> None:
    pem = key_pair(Profile.PQC).kem.to_pem(b"pw").decode()
    lines = pem.splitlines()
    middle = lines[1]
    lines[1] = middle[:10] + ("A" if middle[10] != "A" else "B") + middle[11:]
    with pytest.raises(KeyFormatError):
        KEMPrivateKey.from_pem("\n".join(lines).encode(), b"pw")


def test_repr_never_shows_secret_material() -> None:
    pair = key_pair(Profile.CRITICAL)
    secret_hex = pair.kem.to_raw().hex()
    for text in (repr(pair), repr(pair.kem), repr(pair.signing), str(pair.kem)):
        assert "redacted" in text
        assert secret_hex[:16] not in text


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not pem at all",
        b"-----BEGIN QSAFECITY KEM PUBLIC KEY-----\n!!!!\n-----END QSAFECITY KEM PUBLIC KEY-----\n",
        b"-----BEGIN QSAFECITY KEM PUBLIC KEY-----\nAQE=\n-----END QSAFECITY KEM PUBLIC KEY-----\n",
        b"-----BEGIN QSAFECITY KEM PUBLIC KEY-----\nCQE=\n-----END QSAFECITY KEM PUBLIC KEY-----\n",
        b"-----BEGIN QSAFECITY KEM PUBLIC KEY-----\nAQk=\n-----END QSAFECITY KEM PUBLIC KEY-----\n",
        b"\xff\xfe binary",
    ],
    ids=["empty", "text", "bad-base64", "short", "version", "profile", "binary"],
)
def test_garbage_public_keys_are_refused(data: bytes) -> None:
    with pytest.raises(KeyFormatError):
        KEMPublicKey.from_pem(data)
    with pytest.raises(KeyFormatError):
        VerifyingKey.from_pem(data)
    with pytest.raises(KeyFormatError):
        KEMPrivateKey.from_pem(data)
    with pytest.raises(KeyFormatError):
        SigningKey.from_pem(data)


def test_wrong_key_types_are_refused() -> None:
    pair = key_pair(Profile.PQC)
    with pytest.raises(KeyFormatError):
        KEMPublicKey.from_pem(pair.kem.to_pem())  # private where public expected
    with pytest.raises(KeyFormatError):
        KEMPrivateKey.from_pem(pair.signing.to_pem())  # signing key where KEM key expected
    with pytest.raises(KeyFormatError):
        SigningKey.from_pem(pair.kem.to_pem())
    ed = ed25519.Ed25519PrivateKey.generate()
    ed_pem = ed.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    with pytest.raises(KeyFormatError, match="ML-DSA"):
        SigningKey.from_pem(ed_pem)
    small = mldsa.MLDSA44PrivateKey.generate()
    with pytest.raises(KeyFormatError, match="ML-DSA-65 or ML-DSA-87"):
        VerifyingKey.from_pem(
            small.public_key().public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
        )


def test_raw_keys_of_the_wrong_size_or_value() -> None:
    with pytest.raises(KeyFormatError):
        KEMPrivateKey.from_raw(Profile.PQC, b"\x00" * 31)
    with pytest.raises(KeyFormatError):
        KEMPrivateKey.from_raw(Profile.CRITICAL, b"\x00" * 112)  # P-384 scalar 0
    with pytest.raises(KeyFormatError):
        KEMPublicKey.from_raw(Profile.CRITICAL, b"\x00" * 1665)  # not a curve point
    with pytest.raises(KeyFormatError):
        VerifyingKey.from_raw(Profile.PQC, b"\x00" * 10)
    with pytest.raises(KeyFormatError):
        SigningKey.from_seed(Profile.PQC, b"\x00" * 31)


def test_signatures_are_checked() -> None:
    signer = key_pair(Profile.PQC).signing
    signature = signer.sign(b"data")
    signer.verifying_key.verify(signature, b"data")
    for data, context in ((b"Data", b""), (b"data", b"other context")):
        with pytest.raises(CryptoError):
            signer.verifying_key.verify(signature, data, context)
    with pytest.raises(CryptoError):
        signer.verifying_key.verify(signature[:-1], b"data")
