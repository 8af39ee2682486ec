"""The measured process of bench.sign_in_latency: a new kernel signing in; prints JSON.

``python bench/_sign_in_child.py MODE`` with ``PYTHONPATH`` naming the nb_cognito under test
(this checkout's, or an older one's for the "before" column): it imports only the standard
library and nb_cognito, so that any version can be measured the same way. Modes:

* ``first``: sign in with the password (SRP, identity pool) until the AWS credentials are there;
* ``resume``: ``sign_in()`` with no password, from the remembered session (``remember=True``).

The timed span is the sign-in call and the first ``fetch_auth_session()``; the imports the
sign-in needs are done before it (a kernel has them from its first cell), the Cognito clients
are made inside it (as in a new kernel). The emulator's address (a fault proxy's), the user
and the store's folder come from NB_BENCH_* variables.
"""

import json
import os
import sys
import time


def main(mode: str) -> None:
    import boto3  # noqa: F401  (what a sign-in imports: loaded before the timed span)
    import jwt  # noqa: F401
    import pycognito.aws_srp  # noqa: F401

    from nb_cognito.integrations.remembered import RememberedSessions
    from nb_cognito.kernel import make_session  # the same call in every version measured

    settings = json.loads(os.environ["NB_BENCH_SETTINGS"])
    remember = mode == "resume" or os.environ.get("NB_BENCH_REMEMBER") == "1"
    session = make_session(integrations=[RememberedSessions()], auto_refresh=False)
    session.configure(**settings, remember=remember)
    username = os.environ["NB_BENCH_USERNAME"]
    password = None if mode == "resume" else os.environ["NB_BENCH_PASSWORD"]
    start = time.perf_counter()
    done = session.sign_in(username, password)
    creds = session.fetch_auth_session().aws_credentials_result
    spent = time.perf_counter() - start
    if not done.is_signed_in or not creds.is_success:
        raise SystemExit(f"{mode}: the sign-in did not reach AWS credentials")
    session.close()  # not sign_out(): a remembered session stays for the next resume
    print(json.dumps({"seconds": spent}))


if __name__ == "__main__":
    main(sys.argv[1])
