"""What the offline Cognito provisions: a user pool, its app client, users, an identity pool, S3.

Every spec is a frozen dataclass checked when it is built, so that a mistake (a password that
breaks the pool's policy, an unknown MFA kind) fails with a ``ValueError`` naming the field,
before any server starts. Passwords and TOTP secrets never appear in a repr.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "ClientSpec",
    "IdentityPoolSpec",
    "LocalSpec",
    "PasswordPolicy",
    "PoolSpec",
    "UserSpec",
]

MfaMode = Literal["OFF", "OPTIONAL", "ON"]
Issuer = Literal["original", "updated"]
DeviceTracking = Literal["off", "always", "opt_in"]

_NAME_RE = re.compile(r"[\w\s+=,.@-]+")
_REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE_RE = re.compile(r"\+\d{4,15}")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# The characters Cognito (and moto) count as symbols in a password.
_SYMBOLS = frozenset("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+-")
_MFA_MODES = ("OFF", "OPTIONAL", "ON")
_ISSUERS = ("original", "updated")
_MFA_KINDS = ("TOTP", "SMS", "EMAIL")
_DEVICE_TRACKING = ("off", "always", "opt_in")
_FIRST_FACTORS = ("PASSWORD", "EMAIL_OTP", "SMS_OTP", "WEB_AUTHN")
_USERNAME_ATTRIBUTES = ("email", "phone_number")


def _fail(field_name: str, problem: str) -> ValueError:
    return ValueError(f"{field_name}: {problem}")


def _check_name(field_name: str, value: object, max_length: int = 128) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise _fail(field_name, f"must be a string of 1 to {max_length} characters")
    if not _NAME_RE.fullmatch(value):
        raise _fail(field_name, f"{value!r} may use only letters, digits, spaces and +=,.@-_")


def _check_int(field_name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(field_name, f"must be an integer from {low} to {high}, not {value!r}")


@dataclass(frozen=True)
class PasswordPolicy:
    """The pool's password rules, as Cognito's ``Policies.PasswordPolicy``."""

    min_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = True
    temporary_password_validity_days: int = 7

    def __post_init__(self) -> None:
        _check_int("PasswordPolicy.min_length", self.min_length, 6, 98)
        _check_int(
            "PasswordPolicy.temporary_password_validity_days",
            self.temporary_password_validity_days,
            0,
            365,
        )

    def problems(self, password: str) -> list[str]:
        """What ``password`` lacks under this policy (empty when it complies)."""
        rules = [
            (len(password) >= self.min_length, f"at least {self.min_length} characters"),
            (len(password) < 99, "fewer than 99 characters"),
            (not self.require_uppercase or any(c.isupper() for c in password), "an upper-case letter"),
            (not self.require_lowercase or any(c.islower() for c in password), "a lower-case letter"),
            (not self.require_numbers or any(c.isdigit() for c in password), "a digit"),
            (not self.require_symbols or any(c in _SYMBOLS for c in password), "a symbol"),
        ]
        return [need for ok, need in rules if not ok]

    def to_aws(self) -> dict[str, object]:
        return {
            "MinimumLength": self.min_length,
            "RequireUppercase": self.require_uppercase,
            "RequireLowercase": self.require_lowercase,
            "RequireNumbers": self.require_numbers,
            "RequireSymbols": self.require_symbols,
            "TemporaryPasswordValidityDays": self.temporary_password_validity_days,
        }


@dataclass(frozen=True)
class PoolSpec:
    """A Cognito user pool. ``mfa_types`` is a subset of ``{"TOTP", "SMS", "EMAIL"}``.

    ``issuer="updated"`` makes the pool's tokens carry the ``IssuerConfiguration: UPDATED`` form
    ``https://issuer-cognito-idp.<region>.amazonaws.com/<pool>`` instead of the original
    ``https://cognito-idp.<region>.amazonaws.com/<pool>``.

    ``required_attributes`` are the schema attributes marked required: a user created without
    one must give it in the NEW_PASSWORD_REQUIRED answer (``userAttributes.<name>``).

    ``device_tracking`` is the pool's ``DeviceConfiguration``: ``"always"`` remembers every
    confirmed device (``DeviceOnlyRememberedOnUserPrompt=False``), ``"opt_in"`` only those the
    user remembers with UpdateDeviceStatus (``DeviceOnlyRememberedOnUserPrompt=True``).
    ``challenge_required_on_new_device`` lets a remembered device sign in with device SRP
    instead of MFA.

    ``allowed_first_auth_factors`` is ``SignInPolicy.AllowedFirstAuthFactors``: what the
    choice-based ``USER_AUTH`` flow offers (``PASSWORD`` brings ``PASSWORD_SRP`` with it).
    """

    name: str = "nb-cognito-local"
    password_policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    mfa: MfaMode = "OFF"
    mfa_types: tuple[str, ...] = ("TOTP",)
    username_attributes: tuple[str, ...] = ()
    issuer: Issuer = "original"
    required_attributes: tuple[str, ...] = ()
    device_tracking: DeviceTracking = "off"
    challenge_required_on_new_device: bool = True
    allowed_first_auth_factors: tuple[str, ...] = ("PASSWORD",)

    def __post_init__(self) -> None:
        _check_name("PoolSpec.name", self.name)
        if self.issuer not in _ISSUERS:
            raise _fail("PoolSpec.issuer", f"must be one of {_ISSUERS}, not {self.issuer!r}")
        if not isinstance(self.password_policy, PasswordPolicy):
            raise _fail("PoolSpec.password_policy", "must be a PasswordPolicy")
        if self.mfa not in _MFA_MODES:
            raise _fail("PoolSpec.mfa", f"must be one of {_MFA_MODES}, not {self.mfa!r}")
        object.__setattr__(self, "mfa_types", tuple(self.mfa_types))
        unknown = [kind for kind in self.mfa_types if kind not in _MFA_KINDS]
        if unknown or len(set(self.mfa_types)) != len(self.mfa_types):
            raise _fail("PoolSpec.mfa_types", f"must be distinct kinds from {_MFA_KINDS}")
        if self.mfa != "OFF" and not self.mfa_types:
            raise _fail("PoolSpec.mfa_types", f"needs at least one kind when mfa is {self.mfa!r}")
        object.__setattr__(self, "username_attributes", tuple(self.username_attributes))
        if any(a not in _USERNAME_ATTRIBUTES for a in self.username_attributes):
            raise _fail("PoolSpec.username_attributes", f"may hold only {_USERNAME_ATTRIBUTES}")
        object.__setattr__(self, "required_attributes", tuple(self.required_attributes))
        for attribute in self.required_attributes:
            if not isinstance(attribute, str) or not re.fullmatch(r"[a-z_]{1,32}", attribute):
                raise _fail("PoolSpec.required_attributes", f"{attribute!r} is not a standard attribute name")
        if self.device_tracking not in _DEVICE_TRACKING:
            raise _fail("PoolSpec.device_tracking", f"must be one of {_DEVICE_TRACKING}")
        object.__setattr__(self, "allowed_first_auth_factors", tuple(self.allowed_first_auth_factors))
        factors = self.allowed_first_auth_factors
        if not factors or any(f not in _FIRST_FACTORS for f in factors) or "PASSWORD" not in factors:
            raise _fail(
                "PoolSpec.allowed_first_auth_factors",
                f"must hold 'PASSWORD' and only kinds from {_FIRST_FACTORS}",
            )


@dataclass(frozen=True)
class ClientSpec:
    """The app client. Token validities are in seconds; values below AWS's minimums are allowed."""

    name: str = "nb-cognito-local-client"
    generate_secret: bool = False
    refresh_token_rotation: bool = False
    access_token_validity: int = 3600
    id_token_validity: int = 3600
    refresh_token_validity: int = 30 * 86_400
    # The hosted UI (authorization code grant): exact callback and sign-out URLs, allowed scopes.
    callback_urls: tuple[str, ...] = ()
    logout_urls: tuple[str, ...] = ()
    oauth_scopes: tuple[str, ...] = ("openid", "email", "profile", "aws.cognito.signin.user.admin")

    def __post_init__(self) -> None:
        _check_name("ClientSpec.name", self.name)
        for name in ("callback_urls", "logout_urls", "oauth_scopes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
            if not all(isinstance(value, str) and value for value in getattr(self, name)):
                raise _fail(f"ClientSpec.{name}", "must hold non-empty strings")
        _check_int("ClientSpec.access_token_validity", self.access_token_validity, 1, 86_400)
        _check_int("ClientSpec.id_token_validity", self.id_token_validity, 1, 86_400)
        _check_int("ClientSpec.refresh_token_validity", self.refresh_token_validity, 1, 315_360_000)


@dataclass(frozen=True)
class UserSpec:
    """A user of the pool.

    ``totp_secret`` (base32) gives the user TOTP MFA, set up and preferred; ``sms_mfa`` gives SMS
    MFA to ``phone_number``; ``email_mfa`` gives EMAIL_OTP MFA to the ``email`` attribute. With
    two or more, none is preferred, so sign-in asks the user to choose (SELECT_MFA_TYPE).
    ``confirmed=False`` leaves the user UNCONFIRMED, and ``must_change_password`` makes
    ``password`` a temporary one (NEW_PASSWORD_REQUIRED).
    """

    username: str
    password: str = field(repr=False)
    attributes: Mapping[str, str] = field(default_factory=dict)
    confirmed: bool = True
    must_change_password: bool = False
    totp_secret: str | None = field(default=None, repr=False)
    phone_number: str | None = None
    sms_mfa: bool = False
    email_mfa: bool = False

    def __post_init__(self) -> None:
        name = self.username
        if not isinstance(name, str) or not 1 <= len(name) <= 128 or any(c.isspace() for c in name):
            raise _fail("UserSpec.username", "must be 1 to 128 characters without spaces")
        if not isinstance(self.password, str) or not self.password:
            raise _fail(f"UserSpec({name!r}).password", "must be a non-empty string")
        attributes = dict(self.attributes)
        for key, value in attributes.items():
            if not isinstance(key, str) or not isinstance(value, str) or key == "sub":
                raise _fail(f"UserSpec({name!r}).attributes", "must map names (not 'sub') to str")
        object.__setattr__(self, "attributes", MappingProxyType(attributes))
        if self.must_change_password and not self.confirmed:
            raise _fail(f"UserSpec({name!r}).must_change_password", "cannot be combined with confirmed=False")
        if self.totp_secret is not None:
            _check_base32(f"UserSpec({name!r}).totp_secret", self.totp_secret)
        if self.phone_number is not None and not _PHONE_RE.fullmatch(self.phone_number):
            raise _fail(f"UserSpec({name!r}).phone_number", "must be E.164, like +15555550100")
        if self.sms_mfa and self.phone_number is None:
            raise _fail(f"UserSpec({name!r}).sms_mfa", "needs a phone_number")
        if self.email_mfa and "email" not in attributes:
            raise _fail(f"UserSpec({name!r}).email_mfa", "needs an 'email' attribute")

    def aws_attributes(self) -> list[dict[str, str]]:
        """The user's attributes in Cognito's list form (with the phone number, verified)."""
        attributes = dict(self.attributes)
        if self.phone_number is not None:
            attributes.setdefault("phone_number", self.phone_number)
            attributes.setdefault("phone_number_verified", "true")
        if "email" in attributes:
            attributes.setdefault("email_verified", "true")
        return [{"Name": key, "Value": value} for key, value in attributes.items()]


def _check_base32(field_name: str, secret: str) -> None:
    text = secret.strip().replace(" ", "").upper()
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise _fail(field_name, "must be base32 (A-Z, 2-7)") from None
    if len(raw) < 10:
        raise _fail(field_name, "must hold at least 80 bits (16 base32 characters)")


@dataclass(frozen=True)
class IdentityPoolSpec:
    """An identity pool linked to the user pool; ``credentials_lifetime`` is in seconds."""

    name: str = "nb_cognito_local_identities"
    allow_unauthenticated: bool = False
    credentials_lifetime: int = 3600

    def __post_init__(self) -> None:
        _check_name("IdentityPoolSpec.name", self.name)
        _check_int("IdentityPoolSpec.credentials_lifetime", self.credentials_lifetime, 1, 43_200)


@dataclass(frozen=True)
class LocalSpec:
    """Everything one emulator provisions. ``buckets`` maps bucket -> key -> bytes.

    ``strict_s3=True`` makes S3 refuse, as real S3 does, unsigned requests, keys the emulator
    never vended and expired credentials (see :mod:`nb_cognito.local.s3`).
    """

    pool: PoolSpec = field(default_factory=PoolSpec)
    client: ClientSpec = field(default_factory=ClientSpec)
    users: tuple[UserSpec, ...] = ()
    identity_pool: IdentityPoolSpec | None = field(default_factory=IdentityPoolSpec)
    buckets: Mapping[str, Mapping[str, bytes]] = field(default_factory=dict)
    region: str = "us-east-1"
    strict_s3: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.region, str) or not _REGION_RE.fullmatch(self.region):
            raise _fail("LocalSpec.region", f"{self.region!r} is not a region name")
        for name, kind in (("pool", PoolSpec), ("client", ClientSpec)):
            if not isinstance(getattr(self, name), kind):
                raise _fail(f"LocalSpec.{name}", f"must be a {kind.__name__}")
        if self.identity_pool is not None and not isinstance(self.identity_pool, IdentityPoolSpec):
            raise _fail("LocalSpec.identity_pool", "must be an IdentityPoolSpec or None")
        object.__setattr__(self, "users", tuple(self.users))
        self._check_users()
        object.__setattr__(self, "buckets", _frozen_buckets(self.buckets))

    def _check_users(self) -> None:
        seen: set[str] = set()
        for index, user in enumerate(self.users):
            where = f"LocalSpec.users[{index}]"
            if not isinstance(user, UserSpec):
                raise _fail(where, "must be a UserSpec")
            if user.username in seen:
                raise _fail(f"{where}.username", f"{user.username!r} appears twice")
            seen.add(user.username)
            check_user_against_pool(user, self.pool, where)

    def user(self, username: str) -> UserSpec:
        """The spec of ``username``; KeyError if the spec has no such user."""
        for user in self.users:
            if user.username == username:
                return user
        raise KeyError(username)


def check_user_against_pool(user: UserSpec, pool: PoolSpec, where: str = "UserSpec") -> None:
    """Raise ValueError when ``user`` cannot exist in ``pool`` (policy, MFA kinds, aliases)."""
    problems = pool.password_policy.problems(user.password)
    if problems:
        raise _fail(
            f"{where}.password",
            f"breaks the pool's password policy: it needs {', '.join(problems)}",
        )
    if user.totp_secret is not None and (pool.mfa == "OFF" or "TOTP" not in pool.mfa_types):
        raise _fail(f"{where}.totp_secret", "needs a pool with mfa on/optional and 'TOTP'")
    if user.sms_mfa and (pool.mfa == "OFF" or "SMS" not in pool.mfa_types):
        raise _fail(f"{where}.sms_mfa", "needs a pool with mfa on/optional and 'SMS'")
    if user.email_mfa and (pool.mfa == "OFF" or "EMAIL" not in pool.mfa_types):
        raise _fail(f"{where}.email_mfa", "needs a pool with mfa on/optional and 'EMAIL'")
    if pool.username_attributes:
        formats = {"email": _EMAIL_RE, "phone_number": _PHONE_RE}
        if not any(formats[a].fullmatch(user.username) for a in pool.username_attributes):
            raise _fail(
                f"{where}.username",
                f"must be one of {pool.username_attributes} in a pool that signs in with them",
            )


def _frozen_buckets(
    buckets: Mapping[str, Mapping[str, bytes]],
) -> Mapping[str, Mapping[str, bytes]]:
    frozen: dict[str, Mapping[str, bytes]] = {}
    for bucket, objects in dict(buckets).items():
        if not isinstance(bucket, str) or not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
            raise _fail("LocalSpec.buckets", f"{bucket!r} is not a valid S3 bucket name")
        contents = dict(objects)
        for key, body in contents.items():
            if not isinstance(key, str) or not key or not isinstance(body, bytes):
                raise _fail(f"LocalSpec.buckets[{bucket!r}]", "must map non-empty keys to bytes")
        frozen[bucket] = MappingProxyType(contents)
    return MappingProxyType(frozen)
