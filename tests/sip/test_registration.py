"""The outbound registration client, driven by responses and time (no sockets).

A small in-test registrar answers with the server half of the digest code
(nonces, challenges, ``verify``), so a client that computed a wrong answer
is refused just as a provider would refuse it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from centralino.sip.digest import (
    DigestAlgorithm,
    DigestCredentials,
    DigestSecret,
    DigestVerdict,
    NonceManager,
    build_challenges,
    verify,
)
from centralino.sip.message import Request, Response, make_response
from centralino.sip.registration import (
    BackoffPolicy,
    RegistrationAccount,
    RegistrationClient,
    RegistrationPhase,
)

ACCOUNT = RegistrationAccount(
    registrar_host="provider.example",
    registrar_port=5070,
    username="39021234",
    domain="provider.example",
    auth_user="acct-39021234",
    password="s3cret",
    expires=120,
    contact_host="192.0.2.10",
    contact_port=5062,
)


class Registrar:
    """Challenges every REGISTER without credentials; checks the answer."""

    def __init__(
        self,
        password: str = "s3cret",
        *,
        algorithm: DigestAlgorithm = DigestAlgorithm.MD5,
        proxy: bool = False,
        grant: int | None = None,
    ) -> None:
        self.nonces = NonceManager(secret=b"k" * 32)
        self.secret = DigestSecret(password=password)
        self.algorithm = algorithm
        self.proxy = proxy
        self.grant = grant
        self.credentials: list[DigestCredentials] = []

    def answer(self, request: Request, now: float) -> Response:
        header = "Proxy-Authorization" if self.proxy else "Authorization"
        value = request.headers.get(header)
        if value is None:
            return self.challenge(request, now)
        credentials = DigestCredentials.parse(value)
        self.credentials.append(credentials)
        verdict = verify(
            credentials,
            method="REGISTER",
            realm="provider.example",
            secret=self.secret,
            nonces=self.nonces,
            now=now,
        )
        if verdict is not DigestVerdict.OK:
            return self.challenge(request, now)
        expires = request.headers.expires()
        granted = self.grant if self.grant is not None and expires else expires
        contact = request.headers.single("contact")
        return make_response(
            request, 200, to_tag="reg", extra_headers=[("Contact", f"{contact};expires={granted}")]
        )

    def challenge(self, request: Request, now: float) -> Response:
        challenge = build_challenges(
            realm="provider.example", nonce=self.nonces.issue(now), algorithms=[self.algorithm]
        )[0]
        name = "Proxy-Authenticate" if self.proxy else "WWW-Authenticate"
        status = 407 if self.proxy else 401
        return make_response(request, status, to_tag="reg", extra_headers=[(name, str(challenge))])


def exchange(client: RegistrationClient, registrar: Registrar, now: float) -> list[Request]:
    """Answer every request the client sends until it sends none; return them."""
    sent: list[Request] = []
    while requests := client.requests_to_send():
        for request in requests:
            sent.append(request)
            client.receive_response(registrar.answer(request, now), now)
    return sent


def test_first_register_is_challenged_answered_and_bound() -> None:
    client = RegistrationClient(ACCOUNT)
    registrar = Registrar()
    client.start(0.0)
    sent = exchange(client, registrar, 0.0)
    assert len(sent) == 2
    first, second = sent
    assert str(first.uri) == "sip:provider.example:5070"
    assert first.headers.single("to") == "<sip:39021234@provider.example>"
    assert first.headers.single("contact") == "<sip:39021234@192.0.2.10:5062>"
    assert first.headers.expires() == 120
    assert "authorization" not in first.headers
    assert first.headers.call_id() == second.headers.call_id()
    assert second.headers.cseq().number == first.headers.cseq().number + 1
    credentials = registrar.credentials[0]
    assert credentials.username == "acct-39021234"
    assert credentials.uri == "sip:provider.example:5070"
    assert credentials.qop is not None
    assert credentials.nonce_count == 1
    assert credentials.cnonce
    snapshot = client.snapshot(0.0)
    assert snapshot.phase is RegistrationPhase.REGISTERED
    assert snapshot.bound
    assert snapshot.last_response == 200
    assert snapshot.last_error is None
    assert snapshot.expires_at == 120.0
    assert client.get_timer() == 60.0  # half the granted expiry


@pytest.mark.parametrize("algorithm", [DigestAlgorithm.SHA256, DigestAlgorithm.MD5])
def test_sha256_and_proxy_challenges_are_answered(algorithm: DigestAlgorithm) -> None:
    client = RegistrationClient(ACCOUNT)
    registrar = Registrar(algorithm=algorithm, proxy=True)
    client.start(0.0)
    sent = exchange(client, registrar, 0.0)
    assert "proxy-authorization" in sent[1].headers
    assert registrar.credentials[0].algorithm is algorithm
    assert client.phase is RegistrationPhase.REGISTERED


def test_refresh_follows_the_granted_expiry_not_the_asked_one() -> None:
    client = RegistrationClient(ACCOUNT)
    registrar = Registrar(grant=60)
    client.start(0.0)
    exchange(client, registrar, 0.0)
    assert client.get_timer() == 30.0
    client.handle_timer(29.0)
    assert client.requests_to_send() == []  # not due yet
    client.handle_timer(30.0)
    refresh = exchange(client, registrar, 30.0)
    assert len(refresh) == 2  # a new round: challenged again, answered
    assert refresh[0].headers.expires() == 120  # still asks for its own
    assert client.snapshot(30.0).expires_at == 90.0
    assert client.get_timer() == 60.0


def test_wrong_password_fails_with_the_status_and_backs_off() -> None:
    client = RegistrationClient(ACCOUNT, policy=BackoffPolicy(first=30, longest=600))
    registrar = Registrar(password="another")
    client.start(0.0)
    sent = exchange(client, registrar, 0.0)
    assert len(sent) == 2  # one answer to the challenge, never a second
    snapshot = client.snapshot(0.0)
    assert snapshot.phase is RegistrationPhase.BACKING_OFF
    assert snapshot.last_response == 401
    assert snapshot.last_error is not None
    assert "refused the credentials" in snapshot.last_error
    assert not snapshot.bound
    delays = []
    now = 0.0
    for _ in range(7):
        deadline = client.get_timer()
        assert deadline is not None
        delays.append(deadline - now)
        now = deadline
        client.handle_timer(now)
        exchange(client, registrar, now)
    assert delays == [30, 60, 120, 240, 480, 600, 600]


def test_a_stale_second_challenge_is_answered_once() -> None:
    client = RegistrationClient(ACCOUNT)
    client.start(0.0)
    registrar = Registrar()
    first = client.requests_to_send()[0]
    client.receive_response(registrar.challenge(first, 0.0), 0.0)
    answered = client.requests_to_send()[0]
    stale = build_challenges(
        realm="provider.example", nonce=registrar.nonces.issue(1.0), stale=True
    )[0]
    client.receive_response(
        make_response(answered, 401, extra_headers=[("WWW-Authenticate", str(stale))]), 1.0
    )
    retried = client.requests_to_send()
    assert len(retried) == 1
    assert "authorization" in retried[0].headers
    client.receive_response(registrar.answer(retried[0], 1.0), 1.0)
    assert client.phase is RegistrationPhase.REGISTERED


def test_423_takes_min_expires_and_registers() -> None:
    client = RegistrationClient(replace(ACCOUNT, expires=60))
    registrar = Registrar()
    client.start(0.0)
    first = client.requests_to_send()[0]
    client.receive_response(make_response(first, 423, extra_headers=[("Min-Expires", "300")]), 0.0)
    sent = exchange(client, registrar, 0.0)
    assert sent[0].headers.expires() == 300
    assert client.phase is RegistrationPhase.REGISTERED
    assert client.get_timer() == 150.0


def test_repeated_423_without_a_usable_minimum_fails() -> None:
    client = RegistrationClient(ACCOUNT)
    client.start(0.0)
    request = client.requests_to_send()[0]
    client.receive_response(make_response(request, 423, extra_headers=[("Min-Expires", "10")]), 0)
    assert client.phase is RegistrationPhase.BACKING_OFF
    assert client.snapshot(0).last_response == 423


def test_timeout_and_503_retry_after() -> None:
    client = RegistrationClient(ACCOUNT)
    client.start(0.0)
    client.requests_to_send()
    client.transaction_failed(32.0, reason="no answer (timeout)")
    snapshot = client.snapshot(32.0)
    assert snapshot.last_error == "no answer (timeout)"
    assert snapshot.last_response is None
    assert client.get_timer() == 62.0
    client.handle_timer(62.0)
    request = client.requests_to_send()[0]
    client.receive_response(
        make_response(request, 503, extra_headers=[("Retry-After", "900")]), 62.0
    )
    assert client.get_timer() == 962.0  # longer than the back-off: honoured
    assert client.snapshot(62.0).last_error == "503 Service Unavailable"


def test_responses_of_older_requests_are_ignored() -> None:
    client = RegistrationClient(ACCOUNT)
    registrar = Registrar()
    client.start(0.0)
    first = client.requests_to_send()[0]
    client.receive_response(registrar.challenge(first, 0.0), 0.0)
    client.requests_to_send()
    client.receive_response(make_response(first, 403, to_tag="x"), 0.0)  # late, old CSeq
    assert client.phase is RegistrationPhase.SENDING


def test_stop_unregisters_with_expires_zero_answering_the_challenge() -> None:
    client = RegistrationClient(ACCOUNT)
    registrar = Registrar()
    client.start(0.0)
    exchange(client, registrar, 0.0)
    client.stop(5.0)
    removal = exchange(client, registrar, 5.0)
    assert [request.headers.expires() for request in removal] == [0, 0]
    assert "authorization" in removal[1].headers
    assert client.finished
    assert client.get_timer() is None
    assert not client.snapshot(5.0).bound


def test_stop_without_a_binding_sends_nothing() -> None:
    client = RegistrationClient(ACCOUNT)
    client.start(0.0)
    client.requests_to_send()
    client.transaction_failed(32.0)
    client.stop(33.0)
    assert client.requests_to_send() == []
    assert client.finished


def test_a_new_password_refreshes_the_binding_at_once() -> None:
    client = RegistrationClient(ACCOUNT)
    registrar = Registrar()
    client.start(0.0)
    exchange(client, registrar, 0.0)
    registrar.secret = registrar.secret.__class__(password="n3w")
    client.reconfigure(replace(ACCOUNT, password="n3w"), 10.0)
    sent = exchange(client, registrar, 10.0)
    assert [request.headers.expires() for request in sent] == [120, 120]  # no removal first
    assert client.phase is RegistrationPhase.REGISTERED
    assert client.snapshot(10.0).expires_at == 130.0


def test_a_moved_binding_is_removed_before_the_new_one_is_registered() -> None:
    client = RegistrationClient(ACCOUNT)
    registrar = Registrar()
    client.start(0.0)
    exchange(client, registrar, 0.0)
    moved = replace(ACCOUNT, username="39029999", registrar_port=5080)
    client.reconfigure(moved, 10.0)
    sent = exchange(client, registrar, 10.0)
    assert [request.headers.expires() for request in sent] == [0, 0, 120, 120]
    assert sent[0].headers.single("to") == "<sip:39021234@provider.example>"
    assert str(sent[2].uri) == "sip:provider.example:5080"
    assert sent[2].headers.single("to") == "<sip:39029999@provider.example>"
    assert sent[2].headers.call_id() != sent[0].headers.call_id()
    assert client.phase is RegistrationPhase.REGISTERED


def test_tcp_account_names_its_transport() -> None:
    client = RegistrationClient(replace(ACCOUNT, transport="tcp"))
    client.start(0.0)
    request = client.requests_to_send()[0]
    assert str(request.uri) == "sip:provider.example:5070;transport=tcp"
    assert request.headers.top_via().transport == "TCP"
    assert request.headers.single("contact") == "<sip:39021234@192.0.2.10:5062;transport=tcp>"
