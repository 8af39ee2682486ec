"""The specs the demo and the tests provision: a user, an identity pool and a bucket with data.

Kept apart from :mod:`.spec` (what a spec may hold, and its checks): these are examples of it.
"""

from __future__ import annotations

from .spec import ClientSpec, IdentityPoolSpec, LocalSpec, PoolSpec, UserSpec

__all__ = ["DEMO_BUCKET", "DEMO_PASSWORD", "DEMO_USERNAME", "default_test_spec", "demo_spec"]

#: The demo user of ``nb-cognito local`` / ``demo_spec()``. Local only: it exists nowhere else.
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "Demo-Passw0rd!"
DEMO_BUCKET = "nb-cognito-demo"

_IRIS_CSV = b"""sepal_length,sepal_width,petal_length,petal_width,species
5.1,3.5,1.4,0.2,setosa
4.9,3.0,1.4,0.2,setosa
4.7,3.2,1.3,0.2,setosa
7.0,3.2,4.7,1.4,versicolor
6.4,3.2,4.5,1.5,versicolor
6.9,3.1,4.9,1.5,versicolor
6.3,3.3,6.0,2.5,virginica
5.8,2.7,5.1,1.9,virginica
7.1,3.0,5.9,2.1,virginica
"""


def demo_spec() -> LocalSpec:
    """The demo of ``nb-cognito local``: user ``demo`` / ``Demo-Passw0rd!``, an identity pool,
    and the bucket ``nb-cognito-demo`` holding ``iris.csv``."""
    return LocalSpec(
        pool=PoolSpec(name="nb-cognito-demo"),
        client=ClientSpec(name="nb-cognito-demo-client"),
        users=(
            UserSpec(
                DEMO_USERNAME,
                DEMO_PASSWORD,
                attributes={"email": "demo@example.com", "name": "Demo User"},
            ),
        ),
        identity_pool=IdentityPoolSpec(name="nb_cognito_demo_identities"),
        buckets={DEMO_BUCKET: {"iris.csv": _IRIS_CSV}},
    )


def default_test_spec() -> LocalSpec:
    """The spec the ``local`` pytest fixture provisions: ``alice`` / ``Alice-Passw0rd!``,
    an identity pool (no guests) and the bucket ``nb-cognito-test`` holding ``hello.txt``."""
    return LocalSpec(
        users=(UserSpec("alice", "Alice-Passw0rd!", attributes={"email": "alice@example.com"}),),
        buckets={"nb-cognito-test": {"hello.txt": b"hello from nb_cognito.local\n"}},
    )
