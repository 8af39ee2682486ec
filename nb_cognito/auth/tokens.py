"""JWT claims and verification of Cognito tokens against the pool's JWKS.

Cognito's tokens are RS256 JWTs. A token is accepted only when ``iss`` is one of the issuers
the service can use for the configured pool (:func:`issuers_for`), its signature matches a key
of that issuer's JWKS (by ``kid``; :mod:`nb_cognito.auth.jwks` fetches and caches them),
``token_use`` is what we asked for, the audience is our app client, and it has not expired.
``alg: none`` and symmetric algorithms are refused.
"""

from __future__ import annotations

import base64
import json
import math
import os
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nb_cognito import forksafe
from nb_cognito.auth.jwks import JwksFetcher, JwksSource, fetch_jwks
from nb_cognito.exceptions import TokenValidationError

if TYPE_CHECKING:
    from nb_cognito.settings.config import Settings

__all__ = ["TokenVerifier", "issuers_for", "jwks_url_for"]


def _b64_json(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(token, str) or token.count(".") != 2 or not token.isascii():
        raise TokenValidationError("Cognito returned a malformed token (not a JWT).")
    header, payload, _ = token.split(".")
    try:
        return _b64_json(header), _b64_json(payload)
    except (ValueError, UnicodeError) as error:
        raise TokenValidationError("Cognito returned a malformed token (undecodable JWT).") from error


def issuers_for(
    user_pool_id: str, *, primary_region: str, region: str | None = None, endpoint_url: str | None = None
) -> tuple[str, ...]:
    """Every ``iss`` the service can write for this pool, in order of preference.

    The original form and the ``UPDATED`` form (``IssuerConfiguration``; its region is the pool's
    primary region, whichever replica signs), the original form in the replica's region when
    ``region`` names one, and ``<endpoint_url>/<pool>`` when the user-pool endpoint is set
    (emulators such as cognito-local write that).
    https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_IssuerConfigurationType.html
    """
    found = [
        f"https://cognito-idp.{primary_region}.amazonaws.com/{user_pool_id}",
        f"https://issuer-cognito-idp.{primary_region}.amazonaws.com/{user_pool_id}",
    ]
    if region and region != primary_region:
        found.append(f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}")
    if endpoint_url:
        found.append(f"{endpoint_url.rstrip('/')}/{user_pool_id}")
    return tuple(dict.fromkeys(found))


def jwks_url_for(issuer: str, user_pool_id: str, endpoint_url: str | None) -> str:
    """Where the keys of ``issuer`` (an accepted issuer, never one read from a token) are.

    With a user-pool endpoint set, ``<endpoint>/<pool>/.well-known/jwks.json`` whatever the
    issuer's form (the emulator or private endpoint serves them); otherwise the issuer's own.
    """
    base = f"{endpoint_url.rstrip('/')}/{user_pool_id}" if endpoint_url else issuer
    return f"{base}/.well-known/jwks.json"


class TokenVerifier:
    """Verifies ID and access tokens of one user pool and app client.

    ``issuers`` are the ``iss`` values accepted (see :func:`issuers_for`); a token naming any
    other is refused before any key is fetched, so no URL is ever taken from an unverified token.
    ``blame`` says which settings chose the pool, for the error when the issuer is foreign.
    """

    def __init__(
        self,
        *,
        issuers: tuple[str, ...],
        user_pool_id: str,
        client_id: str,
        endpoint_url: str | None = None,
        timeout: float = 10.0,
        fetch_jwks: JwksFetcher = fetch_jwks,
        blame: str = "",
        cache_directory: Path | None = None,
    ) -> None:
        self.issuers = issuers
        self.issuer = issuers[0]
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self._blame = blame
        # One source per JWKS URL: with an endpoint set, every accepted issuer's keys are the
        # endpoint's, fetched and cached once.
        by_url: dict[str, JwksSource] = {}
        self._sources: dict[str, JwksSource] = {}
        for issuer in issuers:
            url = jwks_url_for(issuer, user_pool_id, endpoint_url)
            if url not in by_url:
                by_url[url] = JwksSource(
                    issuer, url, timeout=timeout, fetch=fetch_jwks, directory=cache_directory
                )
            self._sources[issuer] = by_url[url]
        self.jwks_url = self._sources[self.issuer].url
        # A fetch started by prefetch(), with the pid that started it (a forked child waits
        # for no thread of its parent's).
        self._prefetch: tuple[int, Future[Any]] | None = None
        self._prefetch_lock = forksafe.Lock()

    @classmethod
    def for_settings(
        cls, settings: Settings, *, client_id: str | None = None, **kwargs: Any
    ) -> TokenVerifier:
        """The verifier of the pool and client ``settings`` name (``kwargs``: tests' seams).

        ``client_id``: the audience instead of the ``client_id`` setting (the app client of a
        JupyterHub sign-in, ``hub_client_id``).
        """
        settings.require_sign_in_settings()
        # require_sign_in_settings() checked that there is a pool id and a region.
        assert settings.user_pool_id is not None and settings.primary_region is not None
        endpoint = settings.cognito_idp_endpoint
        issuers = issuers_for(
            settings.user_pool_id,
            primary_region=settings.primary_region,
            region=settings.region,
            endpoint_url=endpoint,
        )
        return cls(
            issuers=issuers,
            user_pool_id=settings.user_pool_id,
            client_id=client_id or settings.client_id or "",
            endpoint_url=endpoint,
            timeout=settings.network_timeout,
            blame=settings.describe_setting("user_pool_id"),
            **kwargs,
        )

    def warm(self) -> None:
        """Make sure the pool's keys are at hand (memory, disk, else one fetch).

        Before a password is asked for: a pool or region that does not exist fails here, with
        an error naming the settings, instead of as a wrong password. Waits for a fetch that
        :meth:`prefetch` started, and raises its error.
        """
        self._settle_prefetch()
        if not any(source.known() for source in self._sources.values()):
            self._sources[self.issuer].refetch()

    def prefetch(self) -> None:
        """Start fetching the keys in a background thread, unless they are known or on the way.

        A sign-in calls it just before its first request, so that the keys travel beside
        InitiateAuth instead of one round trip before it; :meth:`warm` and :meth:`verify` wait
        for that fetch rather than starting another.
        """
        with self._prefetch_lock:
            if self._prefetch is not None and self._prefetch[0] == os.getpid():
                return
            if any(source.known() for source in self._sources.values()):
                return
            future: Future[Any] = Future()
            self._prefetch = (os.getpid(), future)
        source = self._sources[self.issuer]

        def fetch() -> None:
            try:
                future.set_result(source.refetch())
            except BaseException as error:  # handed to whoever waits: warm() or verify()
                future.set_exception(error)

        threading.Thread(target=fetch, name="nb_cognito-jwks", daemon=True).start()

    def _settle_prefetch(self) -> None:
        """Wait for a prefetch in flight (once); raise its error. Its keys are then in memory."""
        with self._prefetch_lock:
            pending, self._prefetch = self._prefetch, None
        if pending is not None and pending[0] == os.getpid():
            pending[1].result()

    def _key(self, source: JwksSource, kid: str, *, refetch: bool = False) -> Any:
        import jwt

        jwk = source.refetch().get(kid) if refetch else source.key(kid)
        if jwk is None:
            raise TokenValidationError("The token was signed by a key that is not in the pool's JWKS.")
        try:
            return jwt.PyJWK(dict(jwk)).key
        except jwt.PyJWKError as error:
            raise TokenValidationError("The pool's JWKS holds an unusable key.") from error

    def _issuer_error(self, token_use: str, iss: object) -> TokenValidationError:
        """Why ``iss`` is refused: the settings name another pool (then the error names the
        setting and its source), or the service wrote a form nb_cognito does not know (then the
        settings are not to blame)."""
        if not isinstance(iss, str) or not iss:
            return TokenValidationError(
                f"The {token_use} token has no issuer (iss); Cognito's tokens always have one.",
                recovery_suggestion="The server is not answering as Cognito does; try again or report it.",
            )
        shown = iss[:100]
        if iss.rstrip("/").endswith(f"/{self.user_pool_id}"):
            return TokenValidationError(
                f"The {token_use} token's issuer {shown!r} names the configured pool in a form "
                "nb_cognito does not accept.",
                recovery_suggestion=(
                    "Not a settings problem unless an endpoint setting names another server than "
                    "the one that issued it; otherwise please report the issuer's form."
                ),
            )
        return TokenValidationError(
            f"The {token_use} token comes from {shown!r}, not from the pool the settings name.",
            recovery_suggestion=(
                f"Check {self._blame or 'user_pool_id'}: the pool id, region and endpoint must "
                "belong together."
            ),
        )

    def verify(self, token: str, *, token_use: str, now: float | None = None) -> dict[str, Any]:
        """Return the verified claims of ``token``, or raise :class:`TokenValidationError`.

        ``now`` is the server's time as best known (the local clock corrected for drift);
        when None, only ``exp > iat`` is required, as right after the server issued it.
        """
        header, unverified = _split(token)
        self._settle_prefetch()
        if header.get("alg") != "RS256":
            raise TokenValidationError(
                f"Refusing a token signed with alg {str(header.get('alg'))[:10]!r}; Cognito uses RS256."
            )
        iss = unverified.get("iss")
        source = self._sources.get(iss) if isinstance(iss, str) else None
        if source is None:
            raise self._issuer_error(token_use, iss)
        kid = str(header.get("kid"))
        try:
            claims = self._decode(token, self._key(source, kid), token_use)
        except TokenValidationError:
            if source.fetched:
                raise
            # The key came from the cache (another kernel's fetch) and did not verify: the pool
            # may have replaced a key under the same kid. Fetch once and try again.
            claims = self._decode(token, self._key(source, kid, refetch=True), token_use)
        self._check_claims(claims, token_use=token_use, now=now)
        return claims

    @staticmethod
    def _decode(token: str, key: Any, token_use: str) -> dict[str, Any]:
        import jwt

        try:
            return jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_aud": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError as error:
            raise TokenValidationError(
                f"The {token_use} token's signature is invalid ({type(error).__name__})."
            ) from error

    def _check_claims(self, claims: Mapping[str, Any], *, token_use: str, now: float | None) -> None:
        if claims.get("iss") not in self._sources:
            raise self._issuer_error(token_use, claims.get("iss"))
        if claims.get("token_use") != token_use:
            raise TokenValidationError(f"Expected an {token_use} token, got another kind.")
        audience = claims.get("aud") if token_use == "id" else claims.get("client_id")
        if audience != self.client_id:
            raise TokenValidationError(f"The {token_use} token was issued to another app client.")
        exp = _time_claim(claims, "exp", token_use)
        iat = _time_claim(claims, "iat", token_use)
        if "auth_time" in claims:
            _time_claim(claims, "auth_time", token_use)
        if exp <= iat or (now is not None and exp <= now):
            raise TokenValidationError(f"The {token_use} token has already expired.")


# Seconds since 1970: 1e11 is the year 5138. Beyond it a time is garbage, not a far future.
_LATEST_PLAUSIBLE = 1e11


def _time_claim(claims: Mapping[str, Any], name: str, token_use: str) -> float:
    """The NumericDate ``claims[name]`` (RFC 7519 section 2), or TokenValidationError.

    A bool is not a number here (``True`` is an ``int`` in Python), and NaN (compares false
    with everything), infinities and absurd values such as ``1e300`` are refused: each would
    otherwise pass the expiry checks or fail later with a bare ValueError/OverflowError.
    """
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenValidationError(f"The {token_use} token has no valid {name} claim (not a number).")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not (math.isfinite(number) and 0.0 <= number < _LATEST_PLAUSIBLE):
        raise TokenValidationError(f"The {token_use} token has no valid {name} claim (not a plausible time).")
    return number
