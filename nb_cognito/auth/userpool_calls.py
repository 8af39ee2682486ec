"""Calls to the Cognito user pool: SRP sign-in, challenges, refresh and sign-out.

This module says which calls, with what, and nothing more: it returns either the tokens
(:class:`AuthTokens`) or the next challenge (:class:`Challenge`). How a call travels is
:mod:`~nb_cognito.auth.userpool_wire`'s, what an answer means (and the SRP proofs)
:mod:`~nb_cognito.auth.userpool_answers`'; deciding what to do with them is the session's job.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nb_cognito.auth.policy import DEFAULT_POLICY, RefreshPolicy
from nb_cognito.auth.userpool_answers import read_outcome, srp_helper
from nb_cognito.auth.userpool_values import (
    PASSWORD_FACTORS,
    AuthTokens,
    Challenge,
    check_text,
    secret_hash,
    srp_answer,
)
from nb_cognito.auth.userpool_wire import UserPoolWire
from nb_cognito.clock import Clock
from nb_cognito.exceptions import (
    AuthError,
    InvalidParameterError,
    NotAuthorizedError,
    is_unknown_action,
)
from nb_cognito.redaction import known_secrets
from nb_cognito.secret import Secret
from nb_cognito.settings.config import Settings

if TYPE_CHECKING:
    from nb_cognito.models import TrackedDevice

__all__ = ["PASSWORD_FACTORS", "AuthTokens", "Challenge", "UserPoolClient", "secret_hash"]


def _nothing_first() -> None:
    """No check before the password goes out (the default of ``before_password``)."""


class UserPoolClient:
    """One user pool and app client, as configured by :class:`~nb_cognito.settings.config.Settings`."""

    def __init__(self, settings: Settings, *, clock: Clock, policy: RefreshPolicy = DEFAULT_POLICY) -> None:
        settings.require_sign_in_settings()
        self.settings = settings
        self._wire = UserPoolWire(settings, clock=clock, policy=policy)
        # Learned at the first refresh: the endpoint does not know GetTokensFromRefreshToken.
        self._no_get_tokens = False

    @property
    def client(self) -> Any:
        """The botocore ``cognito-idp`` client, made at the first use."""
        return self._wire.client

    def connect(self) -> None:
        """Make the botocore client now rather than at the first call (a sign-in then starts
        the JWKS fetch as its first request leaves, not while the client is being built)."""
        self._wire.connect()

    # -- sign-in -------------------------------------------------------------------------

    def start_sign_in(
        self,
        username: str,
        password: Secret | str | None,
        *,
        device: TrackedDevice | None = None,
        on_send: Callable[[], None] | None = None,
        before_password: Callable[[], None] | None = None,
    ) -> AuthTokens | Challenge:
        """Begin signing in with the configured flow (SRP by default).

        ``device`` is a device this kernel confirmed earlier: its key is sent, so that Cognito
        may ask it to prove itself (DEVICE_SRP_AUTH) instead of asking for MFA. With the
        ``USER_AUTH`` flow the password may be None: a one-time code or a choice follows.
        ``on_send`` is called as InitiateAuth is about to go out (the client made, SRP_A
        computed): the session starts the JWKS fetch there, to travel beside it.
        ``before_password`` is called just before the first request that carries the password
        or the SRP proof made from it (with SRP, after InitiateAuth: it sends only SRP_A).
        """
        ready, sending = before_password or _nothing_first, on_send or _nothing_first
        check_text("username", username)
        if password is not None:
            check_text("password", password)
            password = Secret(password)  # a plain str from a direct caller is wrapped at once
            known_secrets.add(password.reveal())
        device = device if device is not None and device.can_prove else None
        try:
            flow = self.settings.auth_flow
            if flow == "USER_AUTH":
                return self._user_auth(username, password, device, ready, sending)
            if password is None:
                raise InvalidParameterError("The password is empty.")
            if flow == "USER_PASSWORD_AUTH":
                ready()
                response = self._initiate(
                    sending,
                    AuthFlow="USER_PASSWORD_AUTH",
                    ClientId=self.settings.client_id,
                    AuthParameters={
                        "USERNAME": username,
                        "PASSWORD": password,
                        **self._wire.secret_hash(username),
                        **({"DEVICE_KEY": device.key} if device else {}),
                    },
                )
                return read_outcome(response, username)
            srp = srp_helper(self.settings, self.client, username, password.reveal(), device)
            auth_params = srp.get_auth_params()
            response = self._initiate(
                sending,
                AuthFlow="USER_SRP_AUTH",
                ClientId=self.settings.client_id,
                AuthParameters=auth_params,
            )
            return self._password_verifier(srp, response, username, ready)
        finally:
            if password is not None:
                known_secrets.discard(password.reveal())

    def _initiate(self, sending: Callable[[], None], **params: Any) -> dict:
        """InitiateAuth for a sign-in; ``sending()`` (see ``on_send``) just before it goes."""
        self.connect()  # so that sending() runs as the request leaves
        sending()
        return self._wire.call("sign in", "initiate_auth", attempts=2, **params)

    def _user_auth(
        self,
        username: str,
        password: Secret | None,
        device: TrackedDevice | None,
        ready: Callable[[], None] = _nothing_first,
        sending: Callable[[], None] = _nothing_first,
    ) -> AuthTokens | Challenge:
        """InitiateAuth ``USER_AUTH``: the preferred first factor, or Cognito's SELECT_CHALLENGE."""
        factor = self.settings.preferred_challenge or ("PASSWORD_SRP" if password else None)
        params: dict[str, Any] = {
            "USERNAME": username,
            **self._wire.secret_hash(username),
            **({"DEVICE_KEY": device.key} if device else {}),
        }
        srp = None
        if factor is not None:
            params["PREFERRED_CHALLENGE"] = factor
        if factor in PASSWORD_FACTORS:
            if password is None:
                raise InvalidParameterError(
                    f"preferred_challenge {factor} needs the password.",
                    recovery_suggestion="Pass the password, or unset preferred_challenge.",
                )
            if factor == "PASSWORD":
                ready()
                params["PASSWORD"] = password
            else:
                srp = srp_helper(self.settings, self.client, username, password.reveal(), device)
                params["SRP_A"] = srp.get_auth_params()["SRP_A"]
        response = self._initiate(
            sending,
            AuthFlow="USER_AUTH",
            ClientId=self.settings.client_id,
            AuthParameters=params,
        )
        if srp is not None:
            return self._password_verifier(srp, response, username, ready)
        return read_outcome(response, username)

    def answer_with_password(
        self, challenge: Challenge, factor: str, password: Secret | str, device: TrackedDevice | None = None
    ) -> AuthTokens | Challenge:
        """Answer SELECT_CHALLENGE with ``PASSWORD`` or ``PASSWORD_SRP`` and the password."""
        check_text("password", password)
        password = Secret(password)
        known_secrets.add(password.reveal())
        device = device if device is not None and device.can_prove else None
        try:
            if factor == "PASSWORD":
                return self.respond(challenge, {"ANSWER": "PASSWORD", "PASSWORD": password})
            srp = srp_helper(self.settings, self.client, challenge.username, password.reveal(), device)
            response = self._respond_raw(
                challenge, {"ANSWER": "PASSWORD_SRP", "SRP_A": srp.get_auth_params()["SRP_A"]}
            )
            return self._password_verifier(srp, response, challenge.username)
        finally:
            known_secrets.discard(password.reveal())

    def _password_verifier(
        self, srp: Any, response: dict, username: str, ready: Callable[[], None] = _nothing_first
    ) -> AuthTokens | Challenge:
        """Answer PASSWORD_VERIFIER with the SRP proof, when that is what ``response`` asks;
        ``ready()`` first."""
        if response.get("ChallengeName") != "PASSWORD_VERIFIER":
            return read_outcome(response, username)
        ready()
        challenge_responses = srp_answer(srp, response, {"USERNAME": username})
        response = self._wire.call(
            "sign in",
            "respond_to_auth_challenge",
            attempts=1,
            ClientId=self.settings.client_id,
            ChallengeName="PASSWORD_VERIFIER",
            ChallengeResponses=challenge_responses,
            **({"Session": response["Session"]} if response.get("Session") else {}),
        )
        return read_outcome(
            response,
            response.get("ChallengeParameters", {}).get("USERNAME") or challenge_responses["USERNAME"],
        )

    def device_srp(
        self, challenge: Challenge, key: str, group_key: str, password: str
    ) -> AuthTokens | Challenge:
        """Answer DEVICE_SRP_AUTH, then DEVICE_PASSWORD_VERIFIER, with the device's SRP proof."""
        srp = srp_helper(  # the device proves itself with its own password, not the user's
            self.settings,
            self.client,
            challenge.username,
            "",
            device_key=key,
            device_group_key=group_key,
            device_password=password,
        )
        response = self._respond_raw(challenge, {"DEVICE_KEY": key, "SRP_A": srp.get_auth_params()["SRP_A"]})
        if response.get("ChallengeName") != "DEVICE_PASSWORD_VERIFIER":
            return read_outcome(response, challenge.username)
        verifier = read_outcome(response, challenge.username)
        assert not isinstance(verifier, AuthTokens)
        claim = srp.process_device_challenge(response["ChallengeParameters"])
        claim.pop("USERNAME", None)
        claim.pop("SECRET_HASH", None)
        return self.respond(verifier, claim)

    def respond(self, challenge: Challenge, answers: dict[str, Any]) -> AuthTokens | Challenge:
        """Answer ``challenge``; ``answers`` are the ChallengeResponses other than USERNAME."""
        return read_outcome(self._respond_raw(challenge, answers), challenge.username)

    def _respond_raw(self, challenge: Challenge, answers: dict[str, Any]) -> dict:
        for value in answers.values():
            check_text("answer", value)
        responses = {"USERNAME": challenge.username, **answers, **self._wire.secret_hash(challenge.username)}
        return self._wire.call(
            "answer the sign-in challenge",
            "respond_to_auth_challenge",
            attempts=1,
            ClientId=self.settings.client_id,
            ChallengeName=challenge.name,
            ChallengeResponses=responses,
            **({"Session": challenge.session} if challenge.session else {}),
        )

    def associate_software_token(self, challenge: Challenge) -> tuple[str, str | None]:
        """Start TOTP setup for an ``MFA_SETUP`` challenge: (shared secret, new session)."""
        response = self._wire.call(
            "set up TOTP", "associate_software_token", attempts=2, Session=challenge.session
        )
        return response["SecretCode"], response.get("Session")

    def verify_software_token(self, session: str | None, code: Secret | str) -> str | None:
        """Verify the first TOTP code during setup; returns the session to finish the challenge."""
        check_text("code", code)
        response = self._wire.call(
            "verify the TOTP code",
            "verify_software_token",
            attempts=1,
            Session=session,
            UserCode=code.strip(),
        )
        if response.get("Status") not in (None, "SUCCESS"):
            from nb_cognito.exceptions import CodeMismatchError

            raise CodeMismatchError("That code is wrong or has expired.")
        return response.get("Session")

    def totp_uri(self, secret: str, username: str) -> str:
        label = urllib.parse.quote(f"{self.settings.user_pool_id}:{username}")
        issuer = urllib.parse.quote("AWS Cognito")
        return f"otpauth://totp/{label}?secret={secret}&issuer={issuer}"

    # -- refresh and sign-out ------------------------------------------------------------

    def refresh(
        self, refresh_token: Secret | str, username: str, *, device_key: str | None = None
    ) -> AuthTokens:
        """New ID/access tokens from the refresh token.

        ``GetTokensFromRefreshToken`` first, as Amplify does (amplify-js PR #14427): it serves
        app clients with and without refresh-token rotation, and with rotation its answer
        carries a new refresh token, which the caller must store before using the new tokens.
        Only an endpoint that does not know that action at all (by code or HTTP status:
        :func:`~nb_cognito.exceptions.is_unknown_action`) is asked with
        ``InitiateAuth(REFRESH_TOKEN_AUTH)`` instead, and from then on for this client.
        ``username`` must be the username Cognito knows (``cognito:username``): SECRET_HASH is
        computed from it. ``device_key``: the tracked device the token is bound to (sent as
        ``DeviceKey`` / ``DEVICE_KEY``; Cognito refuses such a token without it).
        https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetTokensFromRefreshToken.html
        The token and the client secret stay :class:`Secret` until botocore encodes the body.
        """
        refresh_token = Secret(refresh_token)
        secret: dict[str, Any] = self._wire.client_secret()
        if device_key:
            secret["DeviceKey"] = device_key
        if not self._no_get_tokens:
            try:
                response = self._wire.call(
                    "refresh the session",
                    "get_tokens_from_refresh_token",
                    ClientId=self.settings.client_id,
                    RefreshToken=refresh_token,
                    **secret,
                )
            except AuthError as error:
                if not is_unknown_action(error):
                    raise
                response = self._refresh_token_auth(refresh_token, username, device_key, unknown=error)
        else:
            response = self._refresh_token_auth(refresh_token, username, device_key)
        outcome = read_outcome(response, username)
        if isinstance(outcome, Challenge):
            raise NotAuthorizedError("Cognito asked for a challenge during a refresh.")
        return outcome

    def _refresh_token_auth(
        self, refresh_token: Secret, username: str, device_key: str | None, unknown: AuthError | None = None
    ) -> dict:
        """``InitiateAuth(REFRESH_TOKEN_AUTH)``; after ``unknown`` (GetTokensFromRefreshToken
        unknown to the endpoint), a success means this endpoint lacks that action for good,
        and a failure that is not definitive is reported as ``unknown`` was."""
        try:
            response = self._wire.call(
                "refresh the session",
                "initiate_auth",
                AuthFlow="REFRESH_TOKEN_AUTH",
                ClientId=self.settings.client_id,
                AuthParameters={
                    "REFRESH_TOKEN": refresh_token,
                    **self._wire.secret_hash(username),
                    **({"DEVICE_KEY": device_key} if device_key else {}),
                },
            )
        except AuthError as error:
            if unknown is not None and error.retryable:
                raise unknown from None
            raise
        if unknown is not None:
            self._no_get_tokens = True
        return response

    # -- devices -------------------------------------------------------------------------

    def confirm_device(
        self, access_token: str, key: str, verifier: dict[str, str], *, device_name: str
    ) -> bool:
        """ConfirmDevice; True when the user must opt in (UserConfirmationNecessary)."""
        response = self._wire.call(
            "confirm the device",
            "confirm_device",
            attempts=2,
            AccessToken=access_token,
            DeviceKey=key,
            DeviceSecretVerifierConfig=verifier,
            DeviceName=device_name[:1024],
        )
        return bool(response.get("UserConfirmationNecessary"))

    def update_device_status(self, access_token: str, key: str, *, remembered: bool) -> None:
        self._wire.call(
            "update the device's status",
            "update_device_status",
            attempts=2,
            AccessToken=access_token,
            DeviceKey=key,
            DeviceRememberedStatus="remembered" if remembered else "not_remembered",
        )

    def forget_device(self, access_token: str, key: str) -> None:
        self._wire.call(
            "forget the device", "forget_device", attempts=2, AccessToken=access_token, DeviceKey=key
        )

    def global_sign_out(self, access_token: str) -> None:
        self._wire.call("sign out everywhere", "global_sign_out", attempts=2, AccessToken=access_token)

    def revoke_token(self, refresh_token: Secret | str) -> None:
        self._wire.call(
            "revoke the refresh token",
            "revoke_token",
            attempts=1,
            Token=Secret(refresh_token),
            ClientId=self.settings.client_id,
            **self._wire.client_secret(),
        )
