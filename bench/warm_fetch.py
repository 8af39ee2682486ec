"""1. Warm ``fetch_auth_session()``: a memory read, as cheap as botocore's own credential read.

Signed in against the emulator (tokens and credentials fresh), per-call times come from
timeit loops of many calls per sample, in interleaved rounds:

* ``CognitoSession.fetch_auth_session()``;
* botocore ``RefreshableCredentials.get_frozen_credentials()`` holding fresh credentials
  (the baseline: what every signed boto3 request already pays);
* pycognito ``Cognito.check_token()`` (decodes the access token on every call);
* reported too: the credentials nb_cognito hands boto3 (``get_frozen_credentials()`` of the
  provider's object), i.e. what nb_cognito adds to each boto3 request.

The emulator's request log must show no request while the loops run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .common import (
    BenchResult,
    Context,
    calibrate,
    fmt_ratio,
    fmt_seconds,
    interleave,
    median,
    median_ratio,
    per_call,
)

NAME = "warm_fetch"
TITLE = "Warm fetch_auth_session(): no network, per-call time"


def _botocore_credentials(creds: Any) -> Any:
    from botocore.credentials import RefreshableCredentials

    def never() -> dict[str, str]:  # the credentials are fresh; a refresh would be a bug here
        raise AssertionError("botocore tried to refresh fresh credentials")

    return RefreshableCredentials.create_from_metadata(
        metadata={
            "access_key": creds.access_key_id,
            "secret_key": creds.secret_access_key,
            "token": creds.session_token,
            "expiry_time": creds.expiration.isoformat(),
        },
        refresh_using=never,
        method="bench-baseline",
    )


def _pycognito(local: Any, session: Any) -> Any:
    from botocore import UNSIGNED
    from botocore.config import Config
    from pycognito import Cognito

    settings = local.settings
    tokens = session.fetch_auth_session().user_pool_tokens_result.unwrap()
    return Cognito(
        settings.user_pool_id,
        settings.client_id,
        user_pool_region=settings.region,
        username=session.get_current_user().username,
        id_token=tokens.id_token,
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        botocore_config=Config(signature_version=UNSIGNED),
        boto3_client_kwargs={"endpoint_url": local.endpoint_url},
    )


def run(ctx: Context) -> BenchResult:
    result = BenchResult(NAME, TITLE)
    local = ctx.fresh_local()
    with ctx.signed_in(local) as session:
        auth = session.fetch_auth_session()
        creds = auth.aws_credentials_result.unwrap()
        left = creds.expiration - dt.datetime.now(dt.timezone.utc)
        result.note(
            f"Signed in (SRP) to the emulator; credentials good for {left.total_seconds() / 60:.0f} min."
        )

        baseline = _botocore_credentials(creds)
        cognito = _pycognito(local, session)
        provided = session.boto3_session().get_credentials()  # what boto3 reads per request
        fns = {
            "fetch_auth_session": session.fetch_auth_session,
            "botocore get_frozen_credentials": baseline.get_frozen_credentials,
            "pycognito check_token": cognito.check_token,
            "nb_cognito provider get_frozen_credentials": provided.get_frozen_credentials,
        }
        for fn in fns.values():  # warm every path (and prove none of them raises)
            fn()
        if cognito.check_token():
            raise RuntimeError("pycognito says the fresh access token has expired")

        sample_time = ctx.pick(0.01, 0.001)
        numbers = {name: calibrate(fn, sample_time) for name, fn in fns.items()}
        rounds = ctx.pick(31, 3)
        local.reset_counts()
        samples = interleave(
            {name: (lambda fn=fn, n=numbers[name]: per_call(fn, n)) for name, fn in fns.items()}, rounds
        )
        requests = sum(local.request_counts().values())
        calls = sum(numbers[name] * rounds for name in fns)

        result.add(
            f"requests to the emulator during {calls:,} warm calls",
            requests,
            "0",
            requests == 0,
            "A warm read reached the network: fetch_auth_session's snapshot was not used.",
        )
        for name in fns:
            result.add(f"{name}: median per call", fmt_seconds(median(samples[name])))

        ratio = median_ratio(samples["fetch_auth_session"], samples["botocore get_frozen_credentials"])
        result.add(
            "fetch_auth_session / botocore get_frozen_credentials",
            fmt_ratio(ratio),
            "<= 1.0",
            ratio <= 1.0,
            "fetch_auth_session does more than a snapshot read when warm; profile "
            "CognitoSession.fetch_auth_session's fast path.",
        )
        speedup = median_ratio(samples["pycognito check_token"], samples["fetch_auth_session"])
        result.add(
            "speed-up of fetch_auth_session over pycognito check_token",
            f"{speedup:.0f}x",
            ">= 10x",
            speedup >= 10,
            "fetch_auth_session's fast path is slower than expected; profile it.",
        )
        provider = median_ratio(
            samples["nb_cognito provider get_frozen_credentials"], samples["botocore get_frozen_credentials"]
        )
        result.add("nb_cognito provider credentials / botocore get_frozen_credentials", fmt_ratio(provider))
        ctx.shared["provider_read"] = median(samples["nb_cognito provider get_frozen_credentials"])
        result.note(
            f"{rounds} interleaved rounds; calls per sample: "
            + ", ".join(f"{name} {n:,}" for name, n in numbers.items())
            + "."
        )
        result.note(
            "The baseline holds the same credentials with the same expiry, refresh_using "
            "never called; pycognito's Cognito holds the same tokens (check_token(renew=True))."
        )
    return result
