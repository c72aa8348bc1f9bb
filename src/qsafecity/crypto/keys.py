"""Key pairs of the two profiles: hybrid KEM keys for sealing, ML-DSA keys for signing.

Four key types, each constructed by class methods (``generate``, ``from_pem``, ``from_raw``):

* :class:`KEMPrivateKey` / :class:`KEMPublicKey`: the HPKE recipient key of a profile.
  ``pqc``: X-Wing (draft-connolly-cfrg-xwing-kem); the private key is the 32-byte X-Wing seed,
  expanded by ``SHAKE256(seed, 96)`` into the ML-KEM-768 seed (bytes 0-63) and the X25519 key
  (64-95); the public key is ``pk_MLKEM ‖ pk_X25519`` (1216 bytes).
  ``critical``: ML-KEM-1024 + P-384 (draft-irtf-cfrg-concrete-hybrid-kems); the private key is
  the ML-KEM seed ``d ‖ z`` (64 bytes) followed by the P-384 scalar (48 bytes, big-endian); the
  public key is ``pk_MLKEM ‖ X9.62 uncompressed point`` (1665 bytes).
* :class:`SigningKey` / :class:`VerifyingKey`: ML-DSA-65 (``pqc``) or ML-DSA-87 (``critical``),
  stored as standard PKCS#8 / SubjectPublicKeyInfo PEM (readable by OpenSSL).

KEM keys have no standard PEM yet, so they use a small versioned format under the labels
``QSAFECITY KEM PRIVATE KEY`` / ``QSAFECITY KEM PUBLIC KEY``: ``version ‖ profile ‖ raw key``.
A private key may be encrypted at rest (``QSAFECITY ENCRYPTED KEM PRIVATE KEY``): scrypt
(RFC 7914, N = 2^15, r = 8, p = 1) derives an AES-256-GCM key from the password; the header is
the AAD. The ``repr`` of a private key never shows secret material, and keys do not compare equal
by value (compare fingerprints instead).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.utils import Buffer

from qsafecity.crypto.entropy import OSRandom, RandomSource
from qsafecity.crypto.profiles import Profile
from qsafecity.errors import CryptoError, KeyFormatError

KEY_FORMAT_VERSION: Final = 1

_PRIVATE_LABEL: Final = "QSAFECITY KEM PRIVATE KEY"
_ENCRYPTED_LABEL: Final = "QSAFECITY ENCRYPTED KEM PRIVATE KEY"
_PUBLIC_LABEL: Final = "QSAFECITY KEM PUBLIC KEY"

_XWING_SEED_BYTES: Final = 32
_MLKEM_SEED_BYTES: Final = 64
_P384_SCALAR_BYTES: Final = 48
_P384_ORDER: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973
_MLDSA_SEED_BYTES: Final = 32

#: Private key lengths per profile; public key lengths per profile.
PRIVATE_KEY_BYTES: Final[dict[Profile, int]] = {
    Profile.PQC: _XWING_SEED_BYTES,
    Profile.CRITICAL: _MLKEM_SEED_BYTES + _P384_SCALAR_BYTES,
}
PUBLIC_KEY_BYTES: Final[dict[Profile, int]] = {Profile.PQC: 1184 + 32, Profile.CRITICAL: 1568 + 97}

_SCRYPT_LOG2_N: Final = 15
_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1
_SALT_BYTES: Final = 16
_NONCE_BYTES: Final = 12

HPKEPrivateKey = hpke.MLKEM768X25519PrivateKey | hpke.MLKEM1024P384PrivateKey
HPKEPublicKey = hpke.MLKEM768X25519PublicKey | hpke.MLKEM1024P384PublicKey
MLDSAPrivateKey = mldsa.MLDSA65PrivateKey | mldsa.MLDSA87PrivateKey
MLDSAPublicKey = mldsa.MLDSA65PublicKey | mldsa.MLDSA87PublicKey


def _key_id(kind: bytes, profile: Profile, public_raw: bytes) -> bytes:
    """16-byte identifier of a public key: SHA-256 over kind, profile and the raw key."""
    return hashlib.sha256(kind + bytes([profile.code]) + public_raw).digest()[:16]


# --- KEM keys ----------------------------------------------------------------------------------


def _expand_xwing_seed(seed: bytes) -> tuple[mlkem.MLKEM768PrivateKey, x25519.X25519PrivateKey]:
    # draft-connolly-cfrg-xwing-kem §5.2 (expandDecapsulationKey): SHAKE256(sk, 96).
    expanded = hashlib.shake_256(seed).digest(96)
    return (
        mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
        x25519.X25519PrivateKey.from_private_bytes(expanded[64:96]),
    )


@dataclass(frozen=True, eq=False, repr=False)
class KEMPublicKey:
    """The public half of a profile's hybrid KEM key: what a sender seals to."""

    profile: Profile
    raw: bytes
    _hpke: HPKEPublicKey = field(compare=False)
    key_id: bytes = field(init=False, compare=False)
    """16 bytes that identify this key (bound into every message sealed to it)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_id", _key_id(b"kem", self.profile, self.raw))

    @classmethod
    def from_raw(cls, profile: Profile, raw: bytes) -> KEMPublicKey:
        """Parse the raw public key of ``profile``; :class:`KeyFormatError` if it is not one."""
        raw = bytes(raw)
        if len(raw) != PUBLIC_KEY_BYTES[profile]:
            raise KeyFormatError(
                f"a {profile} public key has {PUBLIC_KEY_BYTES[profile]} bytes, got {len(raw)}"
            )
        try:
            if profile is Profile.PQC:
                key: HPKEPublicKey = hpke.MLKEM768X25519PublicKey(
                    mlkem.MLKEM768PublicKey.from_public_bytes(raw[:1184]),
                    x25519.X25519PublicKey.from_public_bytes(raw[1184:]),
                )
            else:
                key = hpke.MLKEM1024P384PublicKey(
                    mlkem.MLKEM1024PublicKey.from_public_bytes(raw[:1568]),
                    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP384R1(), raw[1568:]),
                )
        except ValueError as error:
            raise KeyFormatError(f"not a valid {profile} public key") from error
        return cls(profile, raw, key)

    @classmethod
    def from_pem(cls, data: bytes) -> KEMPublicKey:
        profile, body = _decode_pem(data, _PUBLIC_LABEL)
        return cls.from_raw(profile, body)

    def to_pem(self) -> bytes:
        return _encode_pem(_PUBLIC_LABEL, _header(self.profile) + self.raw)

    @property
    def fingerprint(self) -> str:
        return self.key_id.hex()

    def __repr__(self) -> str:
        return f"KEMPublicKey(profile={self.profile.value}, fingerprint={self.fingerprint})"


@dataclass(frozen=True, eq=False, repr=False)
class KEMPrivateKey:
    """The private half of a profile's hybrid KEM key: what a recipient opens with."""

    profile: Profile
    _secret: bytes
    _hpke: HPKEPrivateKey = field(compare=False)
    public_key: KEMPublicKey = field(compare=False)

    @classmethod
    def generate(cls, profile: Profile, rng: RandomSource | None = None) -> KEMPrivateKey:
        """A fresh key, its secret drawn from ``rng`` (default: the OS CSPRNG)."""
        source = rng if rng is not None else OSRandom()
        if profile is Profile.PQC:
            return cls.from_raw(profile, source.random_bytes(_XWING_SEED_BYTES))
        seed = source.random_bytes(_MLKEM_SEED_BYTES)
        # A uniform P-384 scalar by rejection sampling (FIPS 186-5 A.4.2, "testing candidates").
        while True:
            candidate = source.random_bytes(_P384_SCALAR_BYTES)
            if 0 < int.from_bytes(candidate, "big") < _P384_ORDER:
                return cls.from_raw(profile, seed + candidate)

    @classmethod
    def from_raw(cls, profile: Profile, secret: bytes) -> KEMPrivateKey:
        """Rebuild a key from its raw secret (see the module docstring for the layout)."""
        secret = bytes(secret)
        if len(secret) != PRIVATE_KEY_BYTES[profile]:
            raise KeyFormatError(
                f"a {profile} private key has {PRIVATE_KEY_BYTES[profile]} bytes, got {len(secret)}"
            )
        try:
            if profile is Profile.PQC:
                mlkem_key, x25519_key = _expand_xwing_seed(secret)
                key: HPKEPrivateKey = hpke.MLKEM768X25519PrivateKey(mlkem_key, x25519_key)
                public_raw = (
                    mlkem_key.public_key().public_bytes_raw()
                    + x25519_key.public_key().public_bytes_raw()
                )
            else:
                mlkem1024 = mlkem.MLKEM1024PrivateKey.from_seed_bytes(secret[:64])
                scalar = int.from_bytes(secret[64:], "big")
                p384 = ec.derive_private_key(scalar, ec.SECP384R1())
                key = hpke.MLKEM1024P384PrivateKey(mlkem1024, p384)
                public_raw = (
                    mlkem1024.public_key().public_bytes_raw()
                    + p384.public_key().public_bytes(
                        ser.Encoding.X962, ser.PublicFormat.UncompressedPoint
                    )
                )
        except ValueError as error:
            raise KeyFormatError(f"not a valid {profile} private key") from error
        public = KEMPublicKey.from_raw(profile, public_raw)
        return cls(profile, secret, key, public)

    @classmethod
    def from_pem(cls, data: bytes, password: bytes | None = None) -> KEMPrivateKey:
        """Read a key written by :meth:`to_pem`; a password is needed if it was encrypted."""
        label = _pem_label(data)
        if label == _PRIVATE_LABEL:
            if password is not None:
                raise KeyFormatError("the private key is not encrypted, but a password was given")
            profile, body = _decode_pem(data, _PRIVATE_LABEL)
            return cls.from_raw(profile, body)
        if label == _ENCRYPTED_LABEL:
            if password is None:
                raise KeyFormatError("the private key is encrypted: a password is needed")
            profile, body = _decode_pem(data, _ENCRYPTED_LABEL)
            return cls.from_raw(profile, _decrypt_at_rest(profile, body, password))
        raise KeyFormatError(f"not a qsafecity KEM private key (PEM label {label!r})")

    def to_pem(self, password: bytes | None = None, rng: RandomSource | None = None) -> bytes:
        """PEM text; encrypted under ``password`` (scrypt + AES-256-GCM) when one is given."""
        if password is None:
            return _encode_pem(_PRIVATE_LABEL, _header(self.profile) + self._secret)
        if not password:
            raise ValueError("an empty password protects nothing")
        source = rng if rng is not None else OSRandom()
        return _encode_pem(
            _ENCRYPTED_LABEL, _encrypt_at_rest(self.profile, self._secret, password, source)
        )

    def to_raw(self) -> bytes:
        """The raw secret. Handle with care: this is the whole private key."""
        return self._secret

    @property
    def key_id(self) -> bytes:
        return self.public_key.key_id

    @property
    def fingerprint(self) -> str:
        return self.public_key.fingerprint

    def __repr__(self) -> str:
        return (
            f"KEMPrivateKey(profile={self.profile.value}, fingerprint={self.fingerprint}, "
            "secret=<redacted>)"
        )


# --- signing keys ------------------------------------------------------------------------------


def _mldsa_profile(key: object) -> Profile:
    if isinstance(key, (mldsa.MLDSA65PrivateKey, mldsa.MLDSA65PublicKey)):
        return Profile.PQC
    if isinstance(key, (mldsa.MLDSA87PrivateKey, mldsa.MLDSA87PublicKey)):
        return Profile.CRITICAL
    raise KeyFormatError(
        f"expected an ML-DSA-65 or ML-DSA-87 key, got {type(key).__name__.removesuffix('Key')}"
    )


@dataclass(frozen=True, eq=False, repr=False)
class VerifyingKey:
    """An ML-DSA public key: ML-DSA-65 for ``pqc``, ML-DSA-87 for ``critical``."""

    profile: Profile
    _key: MLDSAPublicKey
    key_id: bytes = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_id", _key_id(b"sig", self.profile, self.to_raw()))

    @classmethod
    def from_raw(cls, profile: Profile, raw: bytes) -> VerifyingKey:
        try:
            if profile is Profile.PQC:
                key: MLDSAPublicKey = mldsa.MLDSA65PublicKey.from_public_bytes(bytes(raw))
            else:
                key = mldsa.MLDSA87PublicKey.from_public_bytes(bytes(raw))
        except ValueError as error:
            raise KeyFormatError(f"not a valid {profile} verifying key") from error
        return cls(profile, key)

    @classmethod
    def from_pem(cls, data: bytes) -> VerifyingKey:
        try:
            key = ser.load_pem_public_key(data)
        except (ValueError, TypeError) as error:
            raise KeyFormatError("not a PEM public key") from error
        profile = _mldsa_profile(key)
        assert isinstance(key, (mldsa.MLDSA65PublicKey, mldsa.MLDSA87PublicKey))
        return cls(profile, key)

    def to_pem(self) -> bytes:
        return self._key.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)

    def to_raw(self) -> bytes:
        return self._key.public_bytes_raw()

    @property
    def fingerprint(self) -> str:
        return self.key_id.hex()

    @property
    def algorithm(self) -> str:
        return self.profile.spec.signature_name

    def verify(self, signature: Buffer, data: Buffer, context: bytes = b"") -> None:
        """Raise :class:`~qsafecity.errors.CryptoError` unless ``signature`` is valid."""
        try:
            self._key.verify(signature, data, context or None)
        except (InvalidSignature, ValueError) as error:
            raise CryptoError("signature verification failed") from error

    def __repr__(self) -> str:
        return f"VerifyingKey(algorithm={self.algorithm}, fingerprint={self.fingerprint})"


@dataclass(frozen=True, eq=False, repr=False)
class SigningKey:
    """An ML-DSA private key; signatures are hedged (randomised), FIPS 204 §3.4."""

    profile: Profile
    _key: MLDSAPrivateKey
    verifying_key: VerifyingKey = field(compare=False)

    @classmethod
    def generate(cls, profile: Profile, rng: RandomSource | None = None) -> SigningKey:
        source = rng if rng is not None else OSRandom()
        return cls.from_seed(profile, source.random_bytes(_MLDSA_SEED_BYTES))

    @classmethod
    def from_seed(cls, profile: Profile, seed: bytes) -> SigningKey:
        """FIPS 204 ``ML-DSA.KeyGen_internal(ξ)`` from the 32-byte seed ξ."""
        if len(seed) != _MLDSA_SEED_BYTES:
            raise KeyFormatError(f"an ML-DSA seed has 32 bytes, got {len(seed)}")
        if profile is Profile.PQC:
            key: MLDSAPrivateKey = mldsa.MLDSA65PrivateKey.from_seed_bytes(bytes(seed))
        else:
            key = mldsa.MLDSA87PrivateKey.from_seed_bytes(bytes(seed))
        return cls._wrap(key)

    @classmethod
    def from_raw(cls, profile: Profile, seed: bytes) -> SigningKey:
        """The same as :meth:`from_seed`: the raw form of an ML-DSA private key is its seed."""
        return cls.from_seed(profile, seed)

    def to_raw(self) -> bytes:
        """The 32-byte seed ξ. Handle with care: this is the whole private key."""
        return self._key.private_bytes_raw()

    @classmethod
    def _wrap(cls, key: MLDSAPrivateKey) -> SigningKey:
        profile = _mldsa_profile(key)
        return cls(profile, key, VerifyingKey(profile, key.public_key()))

    @classmethod
    def from_pem(cls, data: bytes, password: bytes | None = None) -> SigningKey:
        try:
            key = ser.load_pem_private_key(data, password)
        except TypeError as error:
            # pyca raises TypeError for a missing or superfluous password.
            raise KeyFormatError(str(error).rstrip(".")) from error
        except ValueError as error:
            raise KeyFormatError("not a readable PEM private key (or a wrong password)") from error
        _mldsa_profile(key)
        assert isinstance(key, (mldsa.MLDSA65PrivateKey, mldsa.MLDSA87PrivateKey))
        return cls._wrap(key)

    def to_pem(self, password: bytes | None = None) -> bytes:
        if password is not None and not password:
            raise ValueError("an empty password protects nothing")
        encryption: ser.KeySerializationEncryption = (
            ser.BestAvailableEncryption(password) if password else ser.NoEncryption()
        )
        return self._key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, encryption)

    def sign(self, data: bytes, context: bytes = b"") -> bytes:
        """ML-DSA signature over ``data`` with the FIPS 204 context string ``context``."""
        return self._key.sign(data, context or None)

    def sign_parts(self, parts: Iterable[Buffer], context: bytes = b"") -> bytes:
        """The signature :meth:`sign` makes over the concatenation of ``parts``, without joining.

        FIPS 204 external mu (Algorithm 7 line 6): ``mu = H(tr ‖ 0 ‖ len(ctx) ‖ ctx ‖ M)`` is
        computed incrementally, then signed; the result verifies as a signature over ``M``.
        """
        hasher = mldsa.MLDSAMuHasher(self.verifying_key._key, context or None)
        for part in parts:
            hasher.update(part)
        return self._key.sign_mu(hasher.finalize())

    @property
    def algorithm(self) -> str:
        return self.profile.spec.signature_name

    @property
    def key_id(self) -> bytes:
        return self.verifying_key.key_id

    @property
    def fingerprint(self) -> str:
        return self.verifying_key.fingerprint

    def __repr__(self) -> str:
        return (
            f"SigningKey(algorithm={self.algorithm}, fingerprint={self.fingerprint}, "
            "secret=<redacted>)"
        )


@dataclass(frozen=True, eq=False)
class KeyPair:
    """What a city endpoint holds: a KEM key to receive with and a signing key to send with."""

    profile: Profile
    kem: KEMPrivateKey
    signing: SigningKey

    @classmethod
    def generate(cls, profile: Profile, rng: RandomSource | None = None) -> KeyPair:
        return cls(profile, KEMPrivateKey.generate(profile, rng), SigningKey.generate(profile, rng))


# --- PEM helpers -------------------------------------------------------------------------------


def _header(profile: Profile) -> bytes:
    return bytes([KEY_FORMAT_VERSION, profile.code])


def _encode_pem(label: str, body: bytes) -> bytes:
    text = base64.encodebytes(body).decode("ascii").replace("\n", "")
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return (
        "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"
    ).encode()


def _pem_label(data: bytes) -> str | None:
    text = bytes(data).lstrip()
    if not text.startswith(b"-----BEGIN "):
        return None
    end = text.find(b"-----", 11)
    if end < 0:
        return None
    return text[11:end].decode("ascii", errors="replace")


def _decode_pem(data: bytes, label: str) -> tuple[Profile, bytes]:
    try:
        text = bytes(data).decode("ascii").strip()
    except UnicodeDecodeError as error:
        raise KeyFormatError("not PEM text") from error
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    if not text.startswith(begin) or not text.endswith(end):
        found = _pem_label(data)
        raise KeyFormatError(
            f"expected a {label.lower()}, found "
            + (f"a PEM {found!r} block" if found else "no PEM block")
        )
    try:
        body = base64.b64decode("".join(text[len(begin) : -len(end)].split()), validate=True)
    except (binascii.Error, ValueError) as error:
        raise KeyFormatError("damaged PEM: the base64 body does not decode") from error
    if len(body) < 2 or body[0] != KEY_FORMAT_VERSION:
        raise KeyFormatError("unsupported key format version")
    try:
        profile = Profile.from_code(body[1])
    except ValueError as error:
        raise KeyFormatError("unknown profile in key file") from error
    return profile, body[2:]


_AT_REST: Final = struct.Struct(">BBBBB")


def _scrypt(password: bytes, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p).derive(password)


def _encrypt_at_rest(profile: Profile, secret: bytes, password: bytes, rng: RandomSource) -> bytes:
    salt = rng.random_bytes(_SALT_BYTES)
    nonce = rng.random_bytes(_NONCE_BYTES)
    header = _AT_REST.pack(KEY_FORMAT_VERSION, profile.code, _SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P)
    key = _scrypt(password, salt, _SCRYPT_LOG2_N, _SCRYPT_R, _SCRYPT_P)
    aad = _ENCRYPTED_LABEL.encode() + header + salt
    return header + salt + nonce + AESGCM(key).encrypt(nonce, secret, aad)


def _decrypt_at_rest(profile: Profile, body: bytes, password: bytes) -> bytes:
    # ``body`` has lost the two bytes (version, profile) that _decode_pem consumed.
    header_rest = 3
    if len(body) < header_rest + _SALT_BYTES + _NONCE_BYTES + 16:
        raise KeyFormatError("damaged encrypted private key: too short")
    log2_n, r, p = body[0], body[1], body[2]
    if not (10 <= log2_n <= 22 and 1 <= r <= 32 and 1 <= p <= 16):
        raise KeyFormatError("encrypted private key has out-of-range scrypt parameters")
    salt = body[header_rest : header_rest + _SALT_BYTES]
    nonce = body[header_rest + _SALT_BYTES : header_rest + _SALT_BYTES + _NONCE_BYTES]
    ciphertext = body[header_rest + _SALT_BYTES + _NONCE_BYTES :]
    header = _AT_REST.pack(KEY_FORMAT_VERSION, profile.code, log2_n, r, p)
    key = _scrypt(password, salt, log2_n, r, p)
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, _ENCRYPTED_LABEL.encode() + header + salt)
    except InvalidTag as error:
        raise KeyFormatError("wrong password, or the encrypted private key is damaged") from error
