"""The measured process of bench.memory: ``python -m bench._memory_child MODE``; prints JSON.

It reads VmRSS before importing anything beyond the standard library's smallest pieces, then
again after its work. The emulator's address and the user come from NB_BENCH_* variables.
"""

import json
import os
import sys


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(mode: str) -> None:
    before = _rss_mib()
    settings = json.loads(os.environ["NB_BENCH_SETTINGS"])
    bucket = os.environ["NB_BENCH_BUCKET"]
    refresher = False
    steps: dict[str, float] = {}
    if mode == "boto3":
        import boto3

        boto3.client(
            "s3",
            endpoint_url=settings["endpoint_url"],
            region_name=settings["region"],
            aws_access_key_id="ASIABENCHMARK0000000",
            aws_secret_access_key="bench",
        ).head_bucket(Bucket=bucket)
    else:
        from nb_cognito.auth.base import add_integration
        from nb_cognito.auth.session import CognitoSession
        from nb_cognito.integrations.boto3_injection import Boto3Injection

        steps["import nb_cognito.auth.session"] = _rss_mib()
        import boto3  # what sign-in imports anyway; measured apart to show who costs what

        steps["import boto3"] = _rss_mib()
        import pycognito.aws_srp  # noqa: F401  (the SRP maths nb_cognito signs in with)

        steps["import pycognito.aws_srp"] = _rss_mib()
        session = CognitoSession()
        session.configure(**settings)
        result = session.sign_in(os.environ["NB_BENCH_USERNAME"], os.environ["NB_BENCH_PASSWORD"])
        if not result.is_signed_in or session.fetch_auth_session().aws_credentials_result.value is None:
            raise SystemExit("sign-in did not reach AWS credentials")
        refresher = session.status().auto_refresh
        steps["sign-in (Cognito clients, JWT checks, credentials, refresher)"] = _rss_mib()
        if mode == "nb_cognito+s3":
            import boto3

            if not add_integration(session, Boto3Injection()).install():
                raise SystemExit("Boto3Injection.install refused")
            boto3.client("s3", endpoint_url=settings["endpoint_url"]).head_bucket(Bucket=bucket)
    after = _rss_mib()
    print(
        json.dumps({"mode": mode, "before": before, "after": after, "refresher": refresher, "steps": steps})
    )


if __name__ == "__main__":
    main(sys.argv[1])
