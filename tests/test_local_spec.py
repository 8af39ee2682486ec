"""Specs fail early, with a message naming the field, and never show a secret."""

from __future__ import annotations

import dataclasses
import re

import pytest

from nb_cognito.local import (
    DEMO_BUCKET,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    ClientSpec,
    IdentityPoolSpec,
    LocalSpec,
    PasswordPolicy,
    PoolSpec,
    UserSpec,
    default_test_spec,
    demo_spec,
)

GOOD = "Good-Passw0rd!"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: PoolSpec(name="bad/name"), "PoolSpec.name"),
        (lambda: PoolSpec(name=""), "PoolSpec.name"),
        (lambda: PoolSpec(mfa="SOMETIMES"), "PoolSpec.mfa"),
        (lambda: PoolSpec(mfa_types=("TOTP", "VOICE")), "PoolSpec.mfa_types"),
        (lambda: PoolSpec(mfa="ON", mfa_types=()), "PoolSpec.mfa_types"),
        (lambda: PoolSpec(username_attributes=("nickname",)), "PoolSpec.username_attributes"),
        (lambda: PasswordPolicy(min_length=3), "PasswordPolicy.min_length"),
        (lambda: ClientSpec(name="a/b"), "ClientSpec.name"),
        (lambda: ClientSpec(access_token_validity=0), "ClientSpec.access_token_validity"),
        (lambda: ClientSpec(id_token_validity=86_401), "ClientSpec.id_token_validity"),
        (lambda: ClientSpec(refresh_token_validity=True), "ClientSpec.refresh_token_validity"),
        (lambda: UserSpec("has space", GOOD), "UserSpec.username"),
        (lambda: UserSpec("eve", ""), "UserSpec('eve').password"),
        (lambda: UserSpec("eve", GOOD, attributes={"sub": "x"}), "UserSpec('eve').attributes"),
        (lambda: UserSpec("eve", GOOD, confirmed=False, must_change_password=True), "must_change"),
        (lambda: UserSpec("eve", GOOD, totp_secret="not base32!"), "UserSpec('eve').totp_secret"),
        (lambda: UserSpec("eve", GOOD, totp_secret="JBSWY3DP"), "UserSpec('eve').totp_secret"),
        (lambda: UserSpec("eve", GOOD, phone_number="555-0100"), "UserSpec('eve').phone_number"),
        (lambda: UserSpec("eve", GOOD, sms_mfa=True), "UserSpec('eve').sms_mfa"),
        (lambda: IdentityPoolSpec(name="x:y"), "IdentityPoolSpec.name"),
        (lambda: IdentityPoolSpec(credentials_lifetime=0), "IdentityPoolSpec.credentials_lifetime"),
        (lambda: LocalSpec(region="moon-1"), "LocalSpec.region"),
        (lambda: LocalSpec(buckets={"Bad_Bucket": {}}), "LocalSpec.buckets"),
        (lambda: LocalSpec(buckets={"good-bucket": {"k": "text"}}), "LocalSpec.buckets"),
        (lambda: LocalSpec(users=(UserSpec("a", GOOD), UserSpec("a", GOOD))), "users[1].username"),
    ],
)
def test_a_bad_spec_names_its_field(build, field):
    with pytest.raises(ValueError, match=re.escape(field)):
        build()


def test_a_password_that_breaks_the_policy_says_what_it_needs():
    with pytest.raises(ValueError, match=r"users\[0\]\.password.*a symbol"):
        LocalSpec(users=(UserSpec("eve", "NoSymbols123"),))
    relaxed = PoolSpec(password_policy=PasswordPolicy(min_length=6, require_symbols=False))
    assert LocalSpec(pool=relaxed, users=(UserSpec("eve", "NoSymbols123"),)).users


def test_mfa_users_need_a_pool_with_that_mfa():
    totp_user = UserSpec("eve", GOOD, totp_secret="JBSWY3DPEHPK3PXP")
    with pytest.raises(ValueError, match="totp_secret"):
        LocalSpec(users=(totp_user,))
    with pytest.raises(ValueError, match="sms_mfa"):
        LocalSpec(
            pool=PoolSpec(mfa="OPTIONAL", mfa_types=("TOTP",)),
            users=(UserSpec("eve", GOOD, phone_number="+15555550100", sms_mfa=True),),
        )
    assert LocalSpec(pool=PoolSpec(mfa="OPTIONAL"), users=(totp_user,)).users == (totp_user,)


def test_an_email_pool_needs_email_usernames():
    pool = PoolSpec(username_attributes=("email",))
    with pytest.raises(ValueError, match="username"):
        LocalSpec(pool=pool, users=(UserSpec("eve", GOOD),))
    assert LocalSpec(pool=pool, users=(UserSpec("eve@example.com", GOOD),)).users


def test_secrets_stay_out_of_reprs():
    user = UserSpec("eve", GOOD, totp_secret="JBSWY3DPEHPK3PXP")
    text = repr(LocalSpec(pool=PoolSpec(mfa="OPTIONAL"), users=(user,)))
    assert "eve" in text
    assert GOOD not in text and "JBSWY3DPEHPK3PXP" not in text


def test_specs_are_frozen_values():
    spec = default_test_spec()
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.region = "eu-west-1"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.buckets["other"] = {}  # type: ignore[index]
    assert spec == default_test_spec()
    assert spec.user("alice").attributes["email"] == "alice@example.com"
    with pytest.raises(KeyError):
        spec.user("nobody")


def test_the_demo_spec_documents_its_user_and_data():
    spec = demo_spec()
    user = spec.user(DEMO_USERNAME)
    assert user.password == DEMO_PASSWORD
    assert spec.identity_pool is not None
    iris = spec.buckets[DEMO_BUCKET]["iris.csv"].decode()
    assert iris.splitlines()[0] == "sepal_length,sepal_width,petal_length,petal_width,species"
    assert len(iris.splitlines()) > 5
