"""The server half of Cognito's SRP-6a password check, and RFC 6238 TOTP.

The maths is the one the Cognito SDKs (and ``pycognito.aws_srp``) run on the client: the
3072-bit group of RFC 5054 with g = 2, SHA-256 for every hash, and an HKDF whose output keys the
HMAC of ``PASSWORD_CLAIM_SIGNATURE``. The emulator keeps the plaintext password (moto does), so
it derives the verifier ``v = g^x`` at the start of each sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass, field

__all__ = [
    "G",
    "N",
    "SrpChallenge",
    "password_signature",
    "start_challenge",
    "start_device_challenge",
    "totp_code",
    "totp_matches",
    "verify_password_claim",
]

N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"
    "29024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"
    "E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3D"
    "C2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D"
    "670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9"
    "DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64"
    "ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6B"
    "F12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB31"
    "43DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
G_HEX = "2"
N = int(N_HEX, 16)
G = int(G_HEX, 16)
_INFO = b"Caldera Derived Key\x01"


def _hex_hash(hex_string: str) -> str:
    return hashlib.sha256(bytes.fromhex(hex_string)).hexdigest().rjust(64, "0")


def _pad_hex(value: int | str) -> str:
    """Hex with an even length and a clear sign bit, exactly as the Cognito SDKs pad it."""
    text = value if isinstance(value, str) else f"{value:x}"
    if len(text) % 2 == 1:
        return "0" + text
    if text[0] in "89abcdefABCDEF":
        return "00" + text
    return text


K = int(_hex_hash("00" + N_HEX + "0" + G_HEX), 16)


def _private_value(salt_hex: str, pool_part: str, user_id: str, password: str) -> int:
    identity = f"{pool_part}{user_id}:{password}".encode()
    identity_hash = hashlib.sha256(identity).hexdigest().rjust(64, "0")
    return int(_hex_hash(_pad_hex(salt_hex) + identity_hash), 16)


def _hkdf(ikm: bytes, salt: bytes) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, _INFO, hashlib.sha256).digest()[:16]


def _scramble(big_a: int, big_b: int) -> int:
    return int(_hex_hash(_pad_hex(big_a) + _pad_hex(big_b)), 16)


def password_signature(key: bytes, pool_part: str, user_id: str, block: bytes, stamp: str) -> str:
    """base64(HMAC-SHA256(key, pool_part | user_id | secret block | timestamp))."""
    message = pool_part.encode() + user_id.encode() + block + stamp.encode()
    return base64.standard_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class SrpChallenge:
    """What the server keeps between InitiateAuth and the PASSWORD_VERIFIER answer."""

    pool_part: str
    user_id: str
    salt_hex: str
    big_a: int = field(repr=False)
    small_b: int = field(repr=False)
    big_b: int = field(repr=False)
    verifier: int = field(repr=False)
    secret_block: bytes = field(repr=False)

    @property
    def srp_b_hex(self) -> str:
        return f"{self.big_b:x}"

    @property
    def secret_block_b64(self) -> str:
        return base64.standard_b64encode(self.secret_block).decode()


def start_challenge(srp_a_hex: str, pool_id: str, user_id: str, password: str) -> SrpChallenge | None:
    """Make the server's SALT / SRP_B for the client's ``SRP_A``; None if ``SRP_A`` is unsafe."""
    pool_part = pool_id.split("_", 1)[1]
    salt_hex = secrets.token_hex(16)
    verifier = pow(G, _private_value(salt_hex, pool_part, user_id, password), N)
    return _start(srp_a_hex, pool_part, user_id, salt_hex, verifier)


def start_device_challenge(
    srp_a_hex: str, device_group_key: str, device_key: str, salt_hex: str, verifier: int
) -> SrpChallenge | None:
    """DEVICE_SRP_AUTH: SRP_B for a device from the verifier and salt it sent to ConfirmDevice.

    The device's "pool part" is its group key and its "user id" its device key, so the claim
    signature is HMAC(key, group key | device key | secret block | timestamp), as the SDKs sign it.
    """
    return _start(srp_a_hex, device_group_key, device_key, salt_hex, verifier)


def _start(srp_a_hex: str, pool_part: str, user_id: str, salt_hex: str, verifier: int) -> SrpChallenge | None:
    try:
        big_a = int(srp_a_hex, 16)
    except (TypeError, ValueError):
        return None
    if big_a % N == 0:
        return None
    while True:
        small_b = secrets.randbits(1024) | 1  # as large as the SDKs' own ``a`` (128 bytes)
        big_b = (K * verifier + pow(G, small_b, N)) % N
        if big_b and _scramble(big_a, big_b):
            break
    return SrpChallenge(
        pool_part=pool_part,
        user_id=user_id,
        salt_hex=salt_hex,
        big_a=big_a,
        small_b=small_b,
        big_b=big_b,
        verifier=verifier,
        secret_block=secrets.token_bytes(64),
    )


def verify_password_claim(challenge: SrpChallenge, timestamp: str, signature: str) -> bool:
    """True when ``signature`` proves the client knows the password the verifier came from."""
    u = _scramble(challenge.big_a, challenge.big_b)
    shared = pow(challenge.big_a * pow(challenge.verifier, u, N), challenge.small_b, N)
    key = _hkdf(bytes.fromhex(_pad_hex(shared)), bytes.fromhex(_pad_hex(f"{u:x}")))
    expected = password_signature(
        key, challenge.pool_part, challenge.user_id, challenge.secret_block, timestamp
    )
    return hmac.compare_digest(expected.encode(), (signature or "").encode())


# ---------------------------------------------------------------------------
# TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps), as Cognito's software tokens use it.

TOTP_STEP = 30


def _b32decode(secret: str) -> bytes:
    text = secret.strip().replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def totp_code(secret: str, at: float) -> str:
    """The 6-digit code for ``secret`` at epoch second ``at``."""
    counter = int(at // TOTP_STEP)
    digest = hmac.new(_b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def totp_matches(secret: str, code: str, at: float, window: int = 1) -> bool:
    """True if ``code`` is the code of a step within ``window`` steps of ``at``."""
    candidates = (totp_code(secret, at + step * TOTP_STEP) for step in range(-window, window + 1))
    return any(hmac.compare_digest(c, (code or "").strip()) for c in candidates)


def new_totp_secret() -> str:
    """A random 160-bit base32 secret, without padding (32 characters, as Cognito's)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")
