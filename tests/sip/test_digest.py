"""Digest authentication: RFC vectors, server verification, nonces, parser."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralino.sip.digest import (
    DigestAlgorithm,
    DigestChallenge,
    DigestClient,
    DigestCredentials,
    DigestError,
    DigestParseError,
    DigestSecret,
    DigestVerdict,
    NonceManager,
    NonceStatus,
    Qop,
    build_challenges,
    choose_challenge,
    compute_ha1,
    compute_response,
    verify,
)
from centralino.sip.errors import SipParseError

# RFC 7616 §3.9.1 (password with a lower-case "of", erratum 4495).
RFC7616_REALM = "http-auth@example.org"
RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
SECRET = b"0123456789abcdef0123456789abcdef"
REALM = "pbx.example.com"


def rfc7616_challenge(algorithm: str) -> str:
    return (
        f'Digest realm="{RFC7616_REALM}", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}"'
    )


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_example(algorithm: str, expected: str) -> None:
    challenge = DigestChallenge.parse(rfc7616_challenge(algorithm))
    client = DigestClient(username="Mufasa", password="Circle of Life")
    credentials = client.authorize(
        challenge, method="GET", uri="/dir/index.html", cnonce=RFC7616_CNONCE
    )
    assert credentials.response == expected
    assert credentials.qop is Qop.AUTH
    assert credentials.nonce_count == 1
    assert credentials.opaque == RFC7616_OPAQUE
    header = str(credentials)
    assert "qop=auth," in header
    assert "nc=00000001" in header
    assert DigestCredentials.parse(header) == credentials


def test_rfc2617_example() -> None:
    ha1 = compute_ha1(DigestAlgorithm.MD5, "Mufasa", "testrealm@host.com", "Circle Of Life")
    response = compute_response(
        algorithm=DigestAlgorithm.MD5,
        ha1=ha1,
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        method="GET",
        uri="/dir/index.html",
        qop=Qop.AUTH,
        nonce_count=1,
        cnonce="0a4f113b",
    )
    assert response == "6629fae49393a05397450978507c4ef1"


def test_rfc2069_form_without_qop() -> None:
    ha1 = compute_ha1(DigestAlgorithm.MD5, "u", "r", "p")
    response = compute_response(
        algorithm=DigestAlgorithm.MD5, ha1=ha1, nonce="n", method="REGISTER", uri="sip:r"
    )
    ha2 = hashlib.md5(b"REGISTER:sip:r").hexdigest()
    assert response == hashlib.md5(f"{ha1}:n:{ha2}".encode()).hexdigest()


def test_compute_response_needs_cnonce_with_qop() -> None:
    with pytest.raises(ValueError, match="qop"):
        compute_response(
            algorithm=DigestAlgorithm.MD5, ha1="x", nonce="n", method="M", uri="u", qop=Qop.AUTH
        )


# --- server round trips ---------------------------------------------------------


def manager(**kwargs: float) -> NonceManager:
    return NonceManager(secret=SECRET, lifetime=kwargs.get("lifetime", 300.0))


def answer(
    nonces: NonceManager,
    now: float,
    *,
    password: str = "s3cret",
    algorithm: DigestAlgorithm = DigestAlgorithm.SHA256,
    client: DigestClient | None = None,
    nonce: str | None = None,
    qop: tuple[Qop, ...] = (Qop.AUTH,),
) -> DigestCredentials:
    challenge = DigestChallenge(
        realm=REALM,
        nonce=nonces.issue(now) if nonce is None else nonce,
        algorithm=algorithm,
        qop=qop,
    )
    client = client or DigestClient(username="1001", password=password)
    wire = str(client.authorize(challenge, method="REGISTER", uri="sip:pbx.example.com"))
    return DigestCredentials.parse(wire)


def check(
    credentials: DigestCredentials,
    nonces: NonceManager,
    now: float,
    secret: DigestSecret | None = None,
    **kwargs: str,
) -> DigestVerdict:
    return verify(
        credentials,
        method="REGISTER",
        realm=kwargs.get("realm", REALM),
        secret=secret or DigestSecret(password="s3cret"),
        nonces=nonces,
        now=now,
        username=kwargs.get("username"),
    )


@pytest.mark.parametrize("algorithm", list(DigestAlgorithm))
def test_round_trip_every_algorithm(algorithm: DigestAlgorithm) -> None:
    nonces = manager()
    credentials = answer(nonces, 1000.0, algorithm=algorithm)
    verdict = check(credentials, nonces, 1001.0)
    assert verdict is DigestVerdict.OK
    assert verdict.response_status is None


def test_precomputed_ha1_verifies_both_hashes() -> None:
    secret = DigestSecret.precompute("1001", REALM, "s3cret")
    assert secret.password is None
    for algorithm in (DigestAlgorithm.MD5, DigestAlgorithm.SHA256_SESS):
        nonces = manager()
        assert check(answer(nonces, 0.0, algorithm=algorithm), nonces, 0.0, secret) is (
            DigestVerdict.OK
        )


def test_missing_ha1_for_algorithm() -> None:
    nonces = manager()
    secret = DigestSecret(md5_ha1=compute_ha1(DigestAlgorithm.MD5, "1001", REALM, "s3cret"))
    verdict = check(answer(nonces, 0.0), nonces, 0.0, secret)
    assert verdict is DigestVerdict.UNSUPPORTED_ALGORITHM


def test_wrong_password_is_403() -> None:
    nonces = manager()
    verdict = check(answer(nonces, 0.0, password="guess"), nonces, 0.0)
    assert verdict is DigestVerdict.BAD_RESPONSE
    assert verdict.response_status == 403


def test_expired_nonce_is_stale_when_password_right() -> None:
    nonces = manager(lifetime=60.0)
    credentials = answer(nonces, 0.0)
    verdict = check(credentials, nonces, 61.0)
    assert verdict is DigestVerdict.STALE
    assert verdict.response_status == 401
    assert verdict.stale


def test_expired_nonce_with_wrong_password_is_403() -> None:
    nonces = manager(lifetime=60.0)
    assert check(answer(nonces, 0.0, password="x"), nonces, 61.0) is DigestVerdict.BAD_RESPONSE


def test_nonce_from_the_future_is_stale() -> None:
    nonces = manager()
    assert nonces.check(nonces.issue(100.0), 1, 0.0) is NonceStatus.STALE


def test_replayed_nonce_count_rejected_and_increasing_accepted() -> None:
    nonces = manager()
    client = DigestClient(username="1001", password="s3cret")
    nonce = nonces.issue(0.0)
    first = answer(nonces, 0.0, client=client, nonce=nonce)
    assert check(first, nonces, 1.0) is DigestVerdict.OK
    assert check(first, nonces, 2.0) is DigestVerdict.REPLAY
    second = answer(nonces, 0.0, client=client, nonce=nonce)
    assert second.nonce_count == 2
    assert check(second, nonces, 3.0) is DigestVerdict.OK
    assert check(first, nonces, 4.0) is DigestVerdict.REPLAY
    assert DigestVerdict.REPLAY.stale


def test_forged_count_does_not_burn_the_clients_counts() -> None:
    nonces = manager()
    nonce = nonces.issue(0.0)
    forged = answer(nonces, 0.0, nonce=nonce, password="guess")
    assert check(forged, nonces, 0.0) is DigestVerdict.BAD_RESPONSE
    assert check(answer(nonces, 0.0, nonce=nonce), nonces, 0.0) is DigestVerdict.OK


def test_without_qop_a_nonce_is_good_once() -> None:
    nonces = manager()
    credentials = answer(nonces, 0.0, qop=())
    assert credentials.qop is None
    assert credentials.nonce_count is None
    assert credentials.cnonce is None
    assert check(credentials, nonces, 0.0) is DigestVerdict.OK
    assert check(credentials, nonces, 1.0) is DigestVerdict.REPLAY


@pytest.mark.parametrize(
    "nonce",
    ["", "garbage", "!!!!", "AAAA", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"],
)
def test_foreign_nonces_are_bad(nonce: str) -> None:
    nonces = manager()
    verdict = check(answer(nonces, 0.0, nonce=nonce), nonces, 0.0)
    assert verdict is DigestVerdict.BAD_NONCE
    assert verdict.response_status == 401
    assert not verdict.stale


def test_tampered_nonce_rejected() -> None:
    nonces = manager()
    nonce = nonces.issue(0.0)
    flipped = ("B" if nonce[3] == "A" else "A").join((nonce[:3], nonce[4:]))
    assert nonces.check(flipped, 1, 0.0) is NonceStatus.INVALID
    assert nonces.check(nonce[:5] + "!" + nonce[5:], 1, 0.0) is NonceStatus.INVALID
    assert nonces.check(nonce + "==", 1, 0.0) is NonceStatus.INVALID
    assert nonces.check(nonce, 1, 0.0) is NonceStatus.VALID
    other = NonceManager(secret=b"another secret, sixteen bytes+")
    assert other.check(nonce, 1, 0.0) is NonceStatus.INVALID


def test_realm_and_username_mismatch() -> None:
    nonces = manager()
    credentials = answer(nonces, 0.0)
    assert check(credentials, nonces, 0.0, realm="other") is DigestVerdict.REALM_MISMATCH
    verdict = check(credentials, nonces, 0.0, username="1002")
    assert verdict is DigestVerdict.USERNAME_MISMATCH
    assert verdict.response_status == 403


def test_qop_without_nc_is_malformed() -> None:
    nonces = manager()
    header = (
        f'Digest username="1001", realm="{REALM}", nonce="{nonces.issue(0)}", uri="sip:x",'
        ' response="00", qop=auth, cnonce="c"'
    )
    verdict = check(DigestCredentials.parse(header), nonces, 0.0)
    assert verdict is DigestVerdict.MALFORMED
    assert verdict.response_status == 400


def test_table_is_pruned_by_timer_and_bounded() -> None:
    nonces = NonceManager(secret=SECRET, lifetime=10.0, max_entries=3)
    assert nonces.get_timer() is None
    used = []
    for now in range(5):
        credentials = answer(nonces, float(now))
        assert check(credentials, nonces, float(now)) is DigestVerdict.OK
        used.append(credentials)
    assert len(nonces) == 3
    # The evicted nonces (issued at 0 and 1) cannot be replayed: they are stale.
    assert check(used[0], nonces, 5.0) is DigestVerdict.STALE
    assert check(used[2], nonces, 5.0) is DigestVerdict.REPLAY
    timer = nonces.get_timer()
    assert timer == 12.0
    nonces.handle_timer(timer + 0.001)
    assert len(nonces) == 2
    nonces.handle_timer(100.0)
    assert len(nonces) == 0
    assert nonces.get_timer() is None


def test_manager_rejects_weak_configuration() -> None:
    with pytest.raises(ValueError, match="secret"):
        NonceManager(secret=b"short")
    with pytest.raises(ValueError, match="positive"):
        NonceManager(secret=SECRET, lifetime=0)


# --- challenges -------------------------------------------------------------------


def test_build_challenges_sha256_first() -> None:
    challenges = build_challenges(realm=REALM, nonce="abc", opaque="o", stale=True)
    assert [c.algorithm for c in challenges] == [DigestAlgorithm.SHA256, DigestAlgorithm.MD5]
    text = str(challenges[0])
    assert text == (
        f'Digest realm="{REALM}", nonce="abc", opaque="o", stale=true, '
        'algorithm=SHA-256, qop="auth"'
    )
    assert DigestChallenge.parse(text) == challenges[0]


def test_choose_challenge_skips_unsupported() -> None:
    values = [
        'Basic realm="x"',
        'Digest realm="r", nonce="n", algorithm=SHA-512-256',
        'Digest realm="r", nonce="n", algorithm=sha-256',
        'Digest realm="r", nonce="n"',
    ]
    chosen = choose_challenge(values)
    assert chosen is not None
    assert chosen.algorithm is DigestAlgorithm.SHA256
    assert choose_challenge(values[:2]) is None


def test_client_counts_per_nonce() -> None:
    client = DigestClient(username="trunk", password="pw")
    first = DigestChallenge(realm="r", nonce="n1")
    counts = [client.authorize(first, method="INVITE", uri="sip:x").nonce_count for _ in "abc"]
    assert counts == [1, 2, 3]
    second = DigestChallenge(realm="r", nonce="n2")
    assert client.authorize(second, method="INVITE", uri="sip:x").nonce_count == 1


def test_client_auth_int_only() -> None:
    nonces = manager()
    challenge = DigestChallenge(realm=REALM, nonce=nonces.issue(0), qop=(Qop.AUTH_INT,))
    client = DigestClient(username="1001", password="s3cret")
    credentials = client.authorize(challenge, method="INVITE", uri="sip:x", body=b"v=0")
    assert credentials.qop is Qop.AUTH_INT

    def check_body(body: bytes) -> DigestVerdict:
        secret = DigestSecret(password="s3cret")
        return verify(
            credentials,
            method="INVITE",
            realm=REALM,
            secret=secret,
            nonces=nonces,
            now=0.0,
            body=body,
        )

    assert check_body(b"v=1") is DigestVerdict.BAD_RESPONSE
    assert check_body(b"v=0") is DigestVerdict.OK


# --- parser -------------------------------------------------------------------------


def test_parser_quoting_case_and_whitespace() -> None:
    value = (
        'digest  USERNAME = "a\\"b\\\\c" ,Realm="r, with comma",, nonce=n1,'
        ' uri="sip:bob@example.com;transport=tcp", RESPONSE="ABCDEF", Algorithm=md5 ,'
    )
    credentials = DigestCredentials.parse(value)
    assert credentials.username == 'a"b\\c'
    assert credentials.realm == "r, with comma"
    assert credentials.nonce == "n1"
    assert credentials.response == "abcdef"
    assert credentials.algorithm is DigestAlgorithm.MD5
    assert DigestCredentials.parse(str(credentials)) == credentials


def test_challenge_defaults_and_ignored_parameters() -> None:
    challenge = DigestChallenge.parse(
        'Digest realm="r", nonce="n", qop="auth-conf,auth", stale=TRUE, foo=bar'
    )
    assert challenge.algorithm is DigestAlgorithm.MD5
    assert challenge.qop == (Qop.AUTH,)
    assert challenge.stale
    assert DigestChallenge.parse('Digest realm="r", nonce="n"').qop == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "not a Digest"),
        ('Basic realm="r"', "not a Digest"),
        ("Digest", "not a Digest"),
        ('Digest realm="r", realm="s", nonce="n"', "duplicate"),
        ('Digest Realm="r", REALM="s", nonce="n"', "duplicate"),
        ('Digest realm="r"', "missing parameter 'nonce'"),
        ('Digest realm="unterminated, nonce="n"', "expected ','"),
        ('Digest realm="r" nonce="n"', "expected ','"),
        ('Digest realm=, nonce="n"', "bad auth-param"),
        ('Digest realm="a\rb", nonce="n"', "bad auth-param"),
        ('Digest realm="r", nonce="n", algorithm=ROT13', "unsupported digest algorithm"),
    ],
)
def test_challenge_parse_errors(value: str, message: str) -> None:
    with pytest.raises(DigestParseError, match=message):
        DigestChallenge.parse(value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("nc=1", "8 hex digits"),
        ("nc=0000000g", "8 hex digits"),
        ("qop=auth-conf", "unsupported qop"),
        ('response="xyz"', "hexadecimal"),
    ],
)
def test_credentials_parse_errors(extra: str, message: str) -> None:
    params = {
        "username": '"u"',
        "realm": '"r"',
        "nonce": '"n"',
        "uri": '"sip:x"',
        "response": '"00"',
    }
    name = extra.split("=")[0]
    params[name] = extra.split("=", 1)[1]
    value = "Digest " + ", ".join(f"{key}={item}" for key, item in params.items())
    with pytest.raises(DigestParseError, match=message):
        DigestCredentials.parse(value)


def test_parse_errors_are_sip_parse_errors() -> None:
    with pytest.raises(SipParseError) as caught:
        DigestCredentials.parse("Digest")
    assert caught.value.status == 400


def test_quote_refuses_line_breaks() -> None:
    with pytest.raises(ValueError, match="CR or LF"):
        str(DigestChallenge(realm="a\nb", nonce="n"))


@given(st.text())
def test_random_text_raises_only_digest_errors(value: str) -> None:
    for parse in (DigestChallenge.parse, DigestCredentials.parse):
        with contextlib.suppress(DigestError):
            parse(value)


@given(st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=40))
def test_random_text_inside_params(value: str) -> None:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    try:
        challenge = DigestChallenge.parse(f'Digest realm="{escaped}", nonce="n"')
    except DigestError:
        return
    assert challenge.realm == value
    assert DigestChallenge.parse(str(challenge)) == challenge
