"""Provision a :class:`~nb_cognito.local.spec.LocalSpec` into a running emulator, over HTTP.

Provisioning uses boto3 against the emulator's own endpoint, as an administrator would against
AWS. Its requests carry the header ``x-nb-cognito-local-admin`` so that the emulator's request
log (``request_counts``, ``received_access_keys``) shows only what the code under test sent.
The one thing no API can do, give a user a *known* TOTP secret, goes through
:func:`nb_cognito.local.patches.set_user_totp`; what moto has no setting for (the issuer form,
EMAIL_OTP, device tracking) is read by the patches from the pool's spec in the emulator state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from . import patches
from .spec import ClientSpec, IdentityPoolSpec, LocalSpec, PoolSpec, UserSpec
from .state import EmulatorState

__all__ = ["ADMIN_HEADER", "AdminClients", "Provisioned", "add_user", "provision"]

ADMIN_HEADER = "x-nb-cognito-local-admin"
_SMS_ROLE = "arn:aws:iam::123456789012:role/nb-cognito-local-sms"


@dataclass(frozen=True)
class Provisioned:
    """The ids of what :func:`provision` created."""

    user_pool_id: str
    client_id: str
    client_secret: str | None = field(repr=False)
    identity_pool_id: str | None


class AdminClients:
    """boto3 clients for provisioning, with fixed dummy keys, marked as the emulator's own."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        import boto3
        from botocore.config import Config

        self.region = region
        session = boto3.session.Session(
            aws_access_key_id="nb-cognito-local-admin",
            aws_secret_access_key="nb-cognito-local-admin",
            region_name=region,
        )
        config = Config(retries={"total_max_attempts": 1}, s3={"addressing_style": "path"})
        self._clients = {
            name: session.client(name, endpoint_url=endpoint_url, config=config)
            for name in ("cognito-idp", "cognito-identity", "s3")
        }
        for client in self._clients.values():
            client.meta.events.register_first("before-sign.*.*", _mark_admin)

    def __getitem__(self, service: str) -> Any:
        return self._clients[service]


def _mark_admin(request: Any, **_: Any) -> None:
    request.headers[ADMIN_HEADER] = "1"


def provision(spec: LocalSpec, admin: AdminClients, state: EmulatorState) -> Provisioned:
    """Create the spec's pool, client, users, identity pool and buckets; return their ids."""
    idp = admin["cognito-idp"]
    pool_id = _create_pool(idp, spec.pool)
    with state.lock:
        state.pool_specs[pool_id] = spec.pool
    client_id, secret = _create_client(idp, pool_id, spec.client)
    for user in spec.users:
        add_user(admin, state, pool_id, client_id, secret, user)
    identity_pool_id = None
    if spec.identity_pool is not None:
        identity_pool_id = _create_identity_pool(
            admin["cognito-identity"], spec.identity_pool, spec.region, pool_id, client_id
        )
        with state.lock:
            state.credentials_lifetime[identity_pool_id] = spec.identity_pool.credentials_lifetime
    _create_buckets(admin["s3"], spec)
    return Provisioned(pool_id, client_id, secret, identity_pool_id)


def _create_pool(idp: Any, pool: PoolSpec) -> str:
    kwargs: dict[str, Any] = {
        "PoolName": pool.name,
        "Policies": {"PasswordPolicy": pool.password_policy.to_aws()},
    }
    if pool.username_attributes:
        kwargs["UsernameAttributes"] = list(pool.username_attributes)
    if pool.device_tracking != "off":
        kwargs["DeviceConfiguration"] = {
            "ChallengeRequiredOnNewDevice": pool.challenge_required_on_new_device,
            "DeviceOnlyRememberedOnUserPrompt": pool.device_tracking == "opt_in",
        }
    pool_id: str = idp.create_user_pool(**kwargs)["UserPool"]["Id"]
    if pool.mfa != "OFF":
        mfa: dict[str, Any] = {"UserPoolId": pool_id, "MfaConfiguration": pool.mfa}
        mfa["SoftwareTokenMfaConfiguration"] = {"Enabled": "TOTP" in pool.mfa_types}
        if "SMS" in pool.mfa_types:
            mfa["SmsMfaConfiguration"] = {
                "SmsConfiguration": {"SnsCallerArn": _SMS_ROLE, "ExternalId": "nb-cognito-local"}
            }
        idp.set_user_pool_mfa_config(**mfa)
    return pool_id


def _create_client(idp: Any, pool_id: str, client: ClientSpec) -> tuple[str, str | None]:
    created = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=client.name,
        GenerateSecret=client.generate_secret,
        ExplicitAuthFlows=[
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
            "ALLOW_USER_AUTH",
        ],
        AccessTokenValidity=client.access_token_validity,
        IdTokenValidity=client.id_token_validity,
        RefreshTokenValidity=client.refresh_token_validity,
        TokenValidityUnits={"AccessToken": "seconds", "IdToken": "seconds", "RefreshToken": "seconds"},
        RefreshTokenRotation={
            "Feature": "ENABLED" if client.refresh_token_rotation else "DISABLED",
            "RetryGracePeriodSeconds": 0,
        },
        EnableTokenRevocation=True,
        **_hosted_ui_settings(client),
    )["UserPoolClient"]
    return created["ClientId"], created.get("ClientSecret")


def _hosted_ui_settings(client: ClientSpec) -> dict[str, Any]:
    """The app client's OAuth settings: the code grant, when it has callback URLs."""
    if not client.callback_urls:
        return {}
    settings: dict[str, Any] = {
        "CallbackURLs": list(client.callback_urls),
        "AllowedOAuthFlows": ["code"],
        "AllowedOAuthFlowsUserPoolClient": True,
        "AllowedOAuthScopes": list(client.oauth_scopes),
        "SupportedIdentityProviders": ["COGNITO"],
    }
    if client.logout_urls:
        settings["LogoutURLs"] = list(client.logout_urls)
    return settings


def add_user(
    admin: AdminClients,
    state: EmulatorState,
    pool_id: str,
    client_id: str,
    client_secret: str | None,
    user: UserSpec,
) -> None:
    """Create one user as the spec says: status, attributes, and MFA."""
    idp = admin["cognito-idp"]
    if not user.confirmed:
        kwargs: dict[str, Any] = {}
        if client_secret:
            kwargs["SecretHash"] = _secret_hash(user.username, client_id, client_secret)
        idp.sign_up(
            ClientId=client_id,
            Username=user.username,
            Password=user.password,
            UserAttributes=user.aws_attributes(),
            **kwargs,
        )
        return
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=user.username,
        TemporaryPassword=user.password,
        MessageAction="SUPPRESS",
        UserAttributes=user.aws_attributes(),
    )
    if not user.must_change_password:
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username=user.username, Password=user.password, Permanent=True
        )
    if user.sms_mfa:
        idp.admin_set_user_mfa_preference(
            UserPoolId=pool_id,
            Username=user.username,
            SMSMfaSettings={"Enabled": True, "PreferredMfa": user.totp_secret is None and not user.email_mfa},
        )
    if user.totp_secret is not None:
        patches.set_user_totp(
            state, pool_id, user.username, user.totp_secret, preferred=not (user.sms_mfa or user.email_mfa)
        )
    if user.email_mfa:
        found = patches.find_user(pool_id, user.username)
        assert found is not None
        with state.lock:
            state.email_mfa.add((pool_id, found.username))


def _secret_hash(username: str, client_id: str, client_secret: str) -> str:
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def _create_identity_pool(
    identity: Any, spec: IdentityPoolSpec, region: str, pool_id: str, client_id: str
) -> str:
    created = identity.create_identity_pool(
        IdentityPoolName=spec.name,
        AllowUnauthenticatedIdentities=spec.allow_unauthenticated,
        CognitoIdentityProviders=[
            {
                "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
                "ClientId": client_id,
                "ServerSideTokenCheck": False,
            }
        ],
    )
    return str(created["IdentityPoolId"])


def _create_buckets(s3: Any, spec: LocalSpec) -> None:
    for bucket, objects in spec.buckets.items():
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if spec.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": spec.region}
        s3.create_bucket(**kwargs)
        for key, body in objects.items():
            s3.put_object(Bucket=bucket, Key=key, Body=body)
