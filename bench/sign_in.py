"""5. Sign-in latency against the emulator, and the SRP client maths on its own.

Interleaved rounds of:

* ``CognitoSession.sign_in`` end to end (SRP: two round trips, the maths, JWT verification,
  then GetCredentialsForIdentity; the identity id is cached after the first sign-in), and the
  same without an identity pool (user-pool tokens only);
* pycognito ``AWSSRP.authenticate_user`` (the same two round trips and maths, no verification);
* a raw ``USER_PASSWORD_AUTH`` InitiateAuth: one round trip, the network floor.

Then a new kernel's sign-in with 50 ms injected per request, in round trips and time
(:mod:`bench.sign_in_latency`; with ``NB_BENCH_BEFORE=<git ref>`` beside that ref's code).

Then the SRP client maths alone (pycognito ``AWSSRP`` construction + ``get_auth_params`` +
``process_challenge`` with fixed inputs), and, when ``gmpy2`` can be imported, its three
3072-bit modular exponentiations with ``gmpy2.powmod`` vs Python's ``pow``. gmpy2 is no
dependency of nb_cognito; point ``NB_BENCH_GMPY2_PATH`` at a ``pip install --target`` folder
to measure it without installing it into the environment.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import time
from typing import Any

from .common import (
    BenchResult,
    Context,
    fmt_ratio,
    fmt_seconds,
    interleave,
    median,
    median_ratio,
    per_call,
    unsigned_client,
)

NAME = "sign_in"
TITLE = "Sign-in latency and the SRP maths"

# Fixed SRP inputs: the client's secret a and the server's b are constants, so each run does
# exactly the same arithmetic.
_SMALL_A = int.from_bytes(hashlib.sha512(b"nb-cognito bench a").digest() * 2, "big")  # 1024 bits
_SMALL_B = int.from_bytes(hashlib.sha512(b"nb-cognito bench b").digest() * 4, "big")
_POOL_ID = "us-east-1_BenchPool"
_SALT_HEX = hashlib.sha256(b"salt").hexdigest()[:32]


def _fixed_srp_class() -> type:
    from pycognito.aws_srp import AWSSRP

    class FixedSRP(AWSSRP):
        def generate_random_small_a(self) -> int:
            return _SMALL_A % self.big_n

    return FixedSRP


def _srp_maths(srp_class: type, challenge: dict[str, str]) -> Any:
    client = object()  # never used: no round trips here

    def once() -> dict[str, str]:
        srp = srp_class(
            username="alice",
            password="Alice-Passw0rd!",
            pool_id=_POOL_ID,
            client_id="bench-client",
            client=client,
        )
        params = srp.get_auth_params()
        return srp.process_challenge(challenge, params)

    return once


def _fixed_challenge() -> dict[str, str]:
    from pycognito.aws_srp import G_HEX, N_HEX

    big_b = pow(int(G_HEX, 16), _SMALL_B, int(N_HEX, 16))
    return {
        "USERNAME": "alice",
        "USER_ID_FOR_SRP": "alice",
        "SALT": _SALT_HEX,
        "SRP_B": f"{big_b:x}",
        "SECRET_BLOCK": base64.standard_b64encode(b"bench secret block" * 8).decode(),
    }


def _import_gmpy2() -> Any:
    try:
        import gmpy2
    except ImportError:
        extra = os.environ.get("NB_BENCH_GMPY2_PATH")
        if not extra:
            return None
        sys.path.append(extra)
        try:
            import gmpy2
        except ImportError:
            return None
    return gmpy2


def _exponentiations() -> list[tuple[int, int, int]]:
    """The (base, exponent, modulus) of the three pow() calls of one pycognito SRP sign-in."""
    from pycognito.aws_srp import G_HEX, N_HEX, calculate_u, hex_hash, hex_to_long, pad_hex

    n, g = int(N_HEX, 16), int(G_HEX, 16)
    k = hex_to_long(hex_hash("00" + N_HEX + "0" + G_HEX))
    a = _SMALL_A % n
    big_a = pow(g, a, n)
    big_b = pow(g, _SMALL_B, n)
    u = calculate_u(big_a, big_b)
    x = hex_to_long(hex_hash(pad_hex(_SALT_HEX) + hashlib.sha256(b"BenchPoolalice:pw").hexdigest()))
    return [(g, a, n), (g, x, n), (big_b - k * pow(g, x, n), a + u * x, n)]


def _gmpy2_figures(ctx: Context, result: BenchResult, srp_total: float, sign_in: float) -> None:
    gmpy2 = _import_gmpy2()
    if (
        gmpy2 is not None
        and os.environ.get("NB_BENCH_GMPY2_PATH")
        and gmpy2.__file__.startswith(os.environ["NB_BENCH_GMPY2_PATH"])
    ):
        result.note(
            f"gmpy2 {gmpy2.version()} ({gmpy2.mp_version()}) came from PyPI into a separate "
            "folder (pip install --target, named by NB_BENCH_GMPY2_PATH); it is not installed "
            "in the environment and is no dependency of nb_cognito."
        )
    if gmpy2 is None:
        result.add(
            "gmpy2.powmod vs pow",
            "not measured: gmpy2 is not importable (pip install gmpy2, or set NB_BENCH_GMPY2_PATH)",
        )
        return
    work = _exponentiations()
    for base, exponent, modulus in work:
        if int(gmpy2.powmod(base, exponent, modulus)) != pow(base, exponent, modulus):
            raise AssertionError("gmpy2.powmod disagrees with pow")

    def python_pow() -> None:
        for base, exponent, modulus in work:
            pow(base, exponent, modulus)

    def gmpy2_powmod() -> None:  # from Python ints, as a drop-in replacement would be called
        for base, exponent, modulus in work:
            gmpy2.powmod(base, exponent, modulus)

    number = ctx.pick(5, 1)
    samples = interleave(
        {"pow": lambda: per_call(python_pow, number), "gmpy2": lambda: per_call(gmpy2_powmod, number)},
        ctx.pick(7, 1),
    )
    py, gm = median(samples["pow"]), median(samples["gmpy2"])
    speedup = median_ratio(samples["pow"], samples["gmpy2"])
    result.add(
        f"3 SRP exponentiations (3072-bit modulus): pow / gmpy2 {gmpy2.version()}",
        f"{fmt_seconds(py)} / {fmt_seconds(gm)} = {speedup:.1f}x",
    )
    saved = py - gm
    result.add(
        "time gmpy2 would save per sign-in",
        f"{fmt_seconds(saved)} = {saved / sign_in:.1%} "
        f"of the sign-in, {saved / srp_total:.0%} of the SRP maths",
    )
    result.note(
        f"Is an optional gmpy2 accelerator worth it? It would save {fmt_seconds(saved)} once per "
        f"sign-in ({saved / sign_in:.0%} of it here; a smaller share against real Cognito, where "
        "round trips cost more), and a sign-in happens once per kernel, after a person has typed a "
        "password. Proposal: not as a dependency, and not now: nb_cognito calls pycognito's AWSSRP, "
        "whose pow() it cannot swap without patching pycognito. If the ~100 lines of client SRP maths "
        "are vendored (which also drops pycognito's import, and its requests/envs dependencies, "
        "from the sign-in path; see the memory benchmark), a `gmpy2.powmod if importable else pow` "
        "fast path is three lines and could ship as an extra, `nb-cognito[fast]`."
    )


def run(ctx: Context) -> BenchResult:
    from pycognito.aws_srp import AWSSRP

    result = BenchResult(NAME, TITLE)
    local = ctx.fresh_local()
    settings = local.settings
    username, password = ctx.user
    with (
        ctx.signed_in(local, auto_refresh=True) as with_pool,
        ctx.signed_in(local, identity_pool=False, auto_refresh=True) as pool_only,
    ):
        idp = unsigned_client("cognito-idp", local)

        def nb_sign_in(session: Any) -> Any:
            def sample() -> float:
                session.sign_out()  # not timed (it revokes the refresh token)
                start = time.perf_counter()
                done = session.sign_in(username, password)
                spent = time.perf_counter() - start
                if not done.is_signed_in:
                    raise RuntimeError("sign-in did not finish")
                return spent

            return sample

        def pycognito_srp() -> float:
            start = time.perf_counter()
            AWSSRP(
                username=username,
                password=password,
                pool_id=settings.user_pool_id,
                client_id=settings.client_id,
                client=idp,
            ).authenticate_user()
            return time.perf_counter() - start

        def floor() -> float:
            start = time.perf_counter()
            response = idp.initiate_auth(
                ClientId=settings.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
            spent = time.perf_counter() - start
            if "AuthenticationResult" not in response:
                raise RuntimeError("USER_PASSWORD_AUTH did not sign in")
            return spent

        samplers = {
            "nb_cognito sign_in (SRP, to AWS credentials)": nb_sign_in(with_pool),
            "nb_cognito sign_in (SRP, user pool only)": nb_sign_in(pool_only),
            "pycognito AWSSRP.authenticate_user": pycognito_srp,
            "raw USER_PASSWORD_AUTH InitiateAuth (floor)": floor,
        }
        for sampler in samplers.values():
            sampler()  # warm: clients, JWKS cache, identity id
        samples = interleave(samplers, ctx.pick(7, 1))

    for name, values in samples.items():
        result.add(f"{name}: median", fmt_seconds(median(values)))
    floor_name = "raw USER_PASSWORD_AUTH InitiateAuth (floor)"
    for name in list(samples)[:3]:
        ratio = median_ratio(samples[name], samples[floor_name])
        result.add(f"{name.split(':')[0]} / floor", f"{ratio:.1f}x")
    pool_name = "nb_cognito sign_in (SRP, user pool only)"
    result.add(
        "nb_cognito user-pool sign-in / pycognito SRP sign-in",
        fmt_ratio(median_ratio(samples[pool_name], samples["pycognito AWSSRP.authenticate_user"])),
    )

    challenge = _fixed_challenge()
    maths = _srp_maths(_fixed_srp_class(), challenge)
    maths()
    number = ctx.pick(5, 1)
    srp = [per_call(maths, number) for _ in range(ctx.pick(7, 1))]
    srp_total = median(srp)
    sign_in = median(samples[pool_name])
    result.add(
        "SRP client maths alone (AWSSRP() + get_auth_params + process_challenge)",
        f"{fmt_seconds(srp_total)} = {srp_total / sign_in:.0%} of the user-pool sign-in",
    )
    _gmpy2_figures(ctx, result, srp_total, sign_in)
    from .sign_in_latency import add_figures

    add_figures(ctx, result)  # a new kernel's sign-in with latency injected, before / now
    result.note(
        "The emulator runs in this process and does the server half of SRP (its own "
        "3072-bit exponentiations), so the SRP sign-ins here also pay for the server's maths; "
        "USER_PASSWORD_AUTH needs none."
    )
    result.note(
        "nb_cognito's sign-in also verifies both JWTs (RS256) and, with an identity pool, "
        "fetches credentials; the identity id is cached after the first sign-in."
    )
    return result
