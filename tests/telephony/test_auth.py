"""The authenticator's answers for every digest verdict and restriction."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from centralino.domain.extension import Extension
from centralino.domain.settings import NetworkSettings, SecuritySettings, SystemSettings
from centralino.net.transport import Peer, TransportKind
from centralino.sip.digest import (
    DigestAlgorithm,
    DigestChallenge,
    DigestClient,
    NonceManager,
    choose_challenge,
)
from centralino.sip.events import TransactionKey
from centralino.sip.message import Request, Response
from centralino.telephony.auth import Authenticator
from centralino.telephony.directory import Directory
from centralino.telephony.sip_server import IncomingRequest
from centralino.telephony.throttle import Block, Throttle, ThrottlePolicy
from tests.fakes import InMemoryStore

PASSWORD = "Secret-password-101"
REALM = "centralino"
LAN = "192.168.1.20"
WAN = "203.0.113.9"


@dataclass
class _Server:
    """Records responses instead of sending them."""

    sent: list[Response] = field(default_factory=list)

    def respond(self, key: TransactionKey, response: Response) -> None:
        self.sent.append(response)

    def tag_for(self, request: Request) -> str:
        return "server-tag"


@dataclass
class _Clock:
    now: float = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _extension(number: str, **options: object) -> Extension:
    return Extension.model_validate(
        {
            "number": number,
            "auth_id": f"user{number}",
            "auth_password": PASSWORD,
            "voicemail": {"pin": "135790"},
            "options": {"sip_id": f"alias{number}", **options},
        }
    )


@pytest.fixture
async def authenticator() -> Authenticator:
    store = InMemoryStore()
    network = NetworkSettings(local_networks=["192.168.0.0/16"])
    store.seed(
        extensions=[
            _extension("101"),
            _extension("102", disabled=True),
            _extension("103", lan_only=True),
        ],
        settings=SystemSettings(network=network),
    )
    directory = Directory(store)
    await directory.load()
    nonces = NonceManager(secret=b"0123456789abcdef0123", lifetime=300)
    policy = ThrottlePolicy(user_failures=3, address_users=3, proven_failures=6, trusted_pause=10)
    return Authenticator(directory, nonces, REALM, _Clock(), throttle=Throttle(policy))


def _request(method: str = "REGISTER", authorization: str | None = None, proxy: bool = False):
    lines = [
        f"{method} sip:pbx.test SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc",
        "From: <sip:101@pbx.test>;tag=1",
        "To: <sip:101@pbx.test>",
        "Call-ID: c1@test",
        f"CSeq: 1 {method}",
        "Max-Forwards: 70",
    ]
    if authorization:
        lines.append(f"{'Proxy-Authorization' if proxy else 'Authorization'}: {authorization}")
    text = "\r\n".join([*lines, "Content-Length: 0", "", ""])
    return Request.parse(text.encode())


def _incoming(request: Request, host: str = LAN) -> tuple[IncomingRequest, _Server]:
    server = _Server()
    key = TransactionKey(branch="z9hG4bKabc", method=request.method, sent_by="x", server=True)
    incoming = IncomingRequest(
        request=request,
        peer=Peer(TransportKind.UDP, host, 5060),
        transaction=key,
        server=server,  # type: ignore[arg-type]
    )
    return incoming, server


def _challenge(auth: Authenticator, *, proxy: bool = False, host: str = LAN) -> DigestChallenge:
    incoming, server = _incoming(_request(), host)
    assert auth.challenge_or_identify(incoming, proxy=proxy) is None
    header = "proxy-authenticate" if proxy else "www-authenticate"
    challenge = choose_challenge(server.sent[0].headers.get_all(header))
    assert challenge is not None
    return challenge


def _attempt(
    auth: Authenticator,
    user: str,
    password: str = PASSWORD,
    *,
    host: str = LAN,
    challenge: DigestChallenge | None = None,
    method: str = "REGISTER",
    proxy: bool = False,
) -> tuple[Extension | None, Response | None]:
    challenge = challenge or _challenge(auth, proxy=proxy, host=host)
    client = DigestClient(username=user, password=password)
    credentials = client.authorize(challenge, method=method, uri="sip:pbx.test")
    incoming, server = _incoming(_request(method, str(credentials), proxy), host)
    found = auth.challenge_or_identify(incoming, proxy=proxy)
    return found, (server.sent[0] if server.sent else None)


def test_no_credentials_is_401_with_an_md5_challenge_by_default(
    authenticator: Authenticator,
) -> None:
    incoming, server = _incoming(_request())
    assert authenticator.challenge_or_identify(incoming, proxy=False) is None
    [response] = server.sent
    assert response.status == 401
    offered = [DigestChallenge.parse(v) for v in response.headers.get_all("www-authenticate")]
    assert [c.algorithm for c in offered] == [DigestAlgorithm.MD5]


def test_proxy_mode_is_407(authenticator: Authenticator) -> None:
    incoming, server = _incoming(_request("INVITE"))
    assert authenticator.challenge_or_identify(incoming, proxy=True) is None
    assert server.sent[0].status == 407
    assert server.sent[0].headers.get("proxy-authenticate") is not None


@pytest.mark.parametrize("user", ["user101", "USER101", "alias101"])
def test_right_password_identifies_the_extension(authenticator: Authenticator, user: str) -> None:
    found, response = _attempt(authenticator, user)
    assert response is None
    assert found is not None
    assert found.number == "101"


def test_invite_with_proxy_authorization(authenticator: Authenticator) -> None:
    found, _ = _attempt(authenticator, "user101", method="INVITE", proxy=True)
    assert found is not None


async def _configurable() -> tuple[Authenticator, InMemoryStore, _Clock]:
    """An authenticator whose ``sip`` settings a test changes (see :func:`_offer`)."""
    store = InMemoryStore()
    store.seed(extensions=[_extension("101")])
    directory = Directory(store)
    await directory.load()
    nonces = NonceManager(secret=b"0123456789abcdef0123", lifetime=300)
    clock = _Clock()
    return Authenticator(directory, nonces, REALM, clock), store, clock


async def _offer(auth: Authenticator, store: InMemoryStore, *algorithms: str) -> None:
    """Change ``sip.digest_algorithms`` and let the directory see it (as after the event)."""
    settings = SystemSettings.model_validate({"sip": {"digest_algorithms": list(algorithms)}})
    store.seed(settings=settings)
    await auth.directory.load()


def _offered(auth: Authenticator) -> list[DigestChallenge]:
    incoming, server = _incoming(_request())
    auth.challenge_or_identify(incoming, proxy=False)
    return [DigestChallenge.parse(v) for v in server.sent[0].headers.get_all("www-authenticate")]


async def test_the_challenges_follow_the_settings_without_a_restart() -> None:
    auth, store, _ = await _configurable()
    assert [c.algorithm for c in _offered(auth)] == [DigestAlgorithm.MD5]
    await _offer(auth, store, "SHA-256", "MD5")
    both = _offered(auth)
    assert [c.algorithm for c in both] == [DigestAlgorithm.SHA256, DigestAlgorithm.MD5]
    assert both[0].nonce == both[1].nonce  # one nonce, one challenge per algorithm
    await _offer(auth, store, "MD5", "SHA-256")
    assert [c.algorithm for c in _offered(auth)] == [DigestAlgorithm.MD5, DigestAlgorithm.SHA256]
    await _offer(auth, store, "SHA-256")
    assert [c.algorithm for c in _offered(auth)] == [DigestAlgorithm.SHA256]


async def test_sha256_challenge_works_when_enabled() -> None:
    auth, store, _ = await _configurable()
    await _offer(auth, store, "SHA-256", "MD5")
    sha = _offered(auth)[0]
    assert sha.algorithm is DigestAlgorithm.SHA256
    found, _ = _attempt(auth, "user101", challenge=sha)
    assert found is not None


async def test_a_nonce_offered_before_a_switch_is_verified_with_the_phones_algorithm() -> None:
    auth, store, _ = await _configurable()
    await _offer(auth, store, "SHA-256", "MD5")
    sha = _offered(auth)[0]
    await _offer(auth, store, "MD5")  # switched back while the phone computes
    found, response = _attempt(auth, "user101", challenge=sha)
    assert response is None
    assert found is not None


async def test_an_algorithm_offered_no_more_is_rechallenged_once_its_nonces_expired() -> None:
    auth, store, clock = await _configurable()
    await _offer(auth, store, "SHA-256")
    sha = _offered(auth)[0]
    await _offer(auth, store, "MD5")
    clock.now += 301
    fresh = DigestChallenge(
        realm=REALM, nonce=auth.nonces.issue(clock.now), algorithm=sha.algorithm
    )
    found, response = _attempt(auth, "user101", challenge=fresh)
    assert found is None
    assert response is not None
    assert response.status == 401
    offered = [DigestChallenge.parse(v) for v in response.headers.get_all("www-authenticate")]
    assert [c.algorithm for c in offered] == [DigestAlgorithm.MD5]
    assert not auth.throttle.blocked(clock.now)


async def test_an_algorithm_never_offered_is_rechallenged_not_verified() -> None:
    auth, _, clock = await _configurable()
    nonce = auth.nonces.issue(clock.now)
    sha = DigestChallenge(realm=REALM, nonce=nonce, algorithm=DigestAlgorithm.SHA256)
    found, response = _attempt(auth, "user101", "Wrong-password-000", challenge=sha)
    assert found is None
    assert response is not None
    assert response.status == 401  # not a 403: no password was tried


@pytest.mark.parametrize("user", ["user101", "nobody"])
def test_wrong_password_and_unknown_user_get_the_same_403(
    authenticator: Authenticator, user: str
) -> None:
    found, response = _attempt(authenticator, user, "Wrong-password-000")
    assert found is None
    assert response is not None
    assert (response.status, response.reason) == (403, "Forbidden")


def test_stale_nonce_is_rechallenged_with_stale_true(authenticator: Authenticator) -> None:
    challenge = _challenge(authenticator)
    authenticator._clock.now += 301  # type: ignore[attr-defined]
    found, response = _attempt(authenticator, "user101", challenge=challenge)
    assert found is None
    assert response is not None
    assert response.status == 401
    assert DigestChallenge.parse(response.headers.get_all("www-authenticate")[0]).stale


def test_replayed_credentials_are_rechallenged(authenticator: Authenticator) -> None:
    challenge = _challenge(authenticator)
    client = DigestClient(username="user101", password=PASSWORD)
    credentials = str(client.authorize(challenge, method="REGISTER", uri="sip:pbx.test"))
    first, _ = _incoming(_request(authorization=credentials))
    assert authenticator.challenge_or_identify(first, proxy=False) is not None
    again, server = _incoming(_request(authorization=credentials))
    assert authenticator.challenge_or_identify(again, proxy=False) is None
    assert server.sent[0].status == 401


def test_malformed_credentials_are_400(authenticator: Authenticator) -> None:
    incoming, server = _incoming(_request(authorization='Digest username="x", realm='))
    assert authenticator.challenge_or_identify(incoming, proxy=False) is None
    assert server.sent[0].status == 400


def test_credentials_for_another_realm_are_challenged(authenticator: Authenticator) -> None:
    other = (
        'Digest username="user101", realm="elsewhere", nonce="n", uri="sip:x", '
        'response="0123456789abcdef0123456789abcdef"'
    )
    incoming, server = _incoming(_request(authorization=other))
    authenticator.challenge_or_identify(incoming, proxy=False)
    assert server.sent[0].status == 401


def test_disabled_extension_is_told_only_with_the_right_password(
    authenticator: Authenticator,
) -> None:
    _, right = _attempt(authenticator, "user102")
    _, wrong = _attempt(authenticator, "user102", "Wrong-password-000")
    assert right is not None
    assert wrong is not None
    assert (right.status, right.reason) == (403, "Extension disabled")
    assert (wrong.status, wrong.reason) == (403, "Forbidden")


def test_lan_only_extension_from_outside_is_403(authenticator: Authenticator) -> None:
    _, outside = _attempt(authenticator, "user103", host=WAN)
    inside, _ = _attempt(authenticator, "user103", host=LAN)
    assert outside is not None
    assert (outside.status, outside.reason) == (403, "Outside the local network")
    assert inside is not None


def _blocks(auth: Authenticator) -> list[tuple[str, str | None]]:
    now = auth._clock()  # type: ignore[attr-defined]
    return [(block.address, block.user) for block in auth.throttle.blocked(now)]


def test_repeated_failures_of_one_user_block_that_user_from_that_address(
    authenticator: Authenticator,
) -> None:
    for _ in range(3):
        _attempt(authenticator, "user101", "Wrong-password-000", host=WAN)
    assert _blocks(authenticator) == [(WAN, "user101")]
    challenge = _challenge(authenticator, host=WAN)  # not blocked as a whole: challenged
    found, response = _attempt(authenticator, "user101", host=WAN, challenge=challenge)
    assert found is None
    assert response is not None
    assert response.status == 403  # even the right password: refused without digest work
    _, response = _attempt(authenticator, "alias103", host=WAN)  # another name from there
    assert response is not None  # verified (a LAN-only extension), not refused as blocked
    assert response.reason == "Outside the local network"
    found, _ = _attempt(authenticator, "user101", host=LAN)
    assert found is not None  # other addresses are not affected


def test_guessing_many_names_blocks_the_address_but_not_a_proven_phone(
    authenticator: Authenticator,
) -> None:
    found, _ = _attempt(authenticator, "user101", host=WAN)
    assert found is not None  # the office's phone: proven from WAN
    for name in ("admin", "1000", "test"):
        _attempt(authenticator, name, "guess", host=WAN)
    assert _blocks(authenticator) == [(WAN, None)]
    found, response = _attempt(authenticator, "user103", host=WAN)
    assert found is None
    assert response is not None
    assert response.status == 403
    for _ in range(3):
        found, _ = _attempt(authenticator, "USER101", host=WAN)  # the same name, any case
        assert found is not None


def test_a_blocked_address_without_proven_phones_gets_no_challenge(
    authenticator: Authenticator,
) -> None:
    for name in ("admin", "1000", "test"):
        _attempt(authenticator, name, "guess", host=WAN)
    incoming, server = _incoming(_request(), WAN)
    assert authenticator.challenge_or_identify(incoming, proxy=False) is None
    assert server.sent[0].status == 403  # not even a challenge


def test_credentials_answering_a_nonce_sent_elsewhere_count_no_failure(
    authenticator: Authenticator,
) -> None:
    challenge = _challenge(authenticator, host="203.0.113.66")  # the forger's own address
    for _ in range(10):  # forged from the office's address, with a nonce sent elsewhere
        found, response = _attempt(
            authenticator, "user101", "Wrong-password-000", host=WAN, challenge=challenge
        )
        assert found is None
        assert response is not None
        assert response.status == 401  # re-challenged: not a failure
    assert _blocks(authenticator) == []
    found, _ = _attempt(authenticator, "user101", host=WAN)
    assert found is not None
    found, response = _attempt(authenticator, "user101", host=WAN, challenge=challenge)
    assert found is None  # even the right password needs a nonce sent to its address


def test_trusted_addresses_are_paused_not_blocked(authenticator: Authenticator) -> None:
    for _ in range(3):
        _attempt(authenticator, "user101", "Wrong-password-000", host=LAN)
    assert _blocks(authenticator) == []  # the LAN is trusted by default
    challenge = _challenge(authenticator, host=LAN)
    found, response = _attempt(authenticator, "user101", host=LAN, challenge=challenge)
    assert found is None
    assert response is not None
    assert response.status == 403  # paused
    authenticator._clock.now += 11  # type: ignore[attr-defined]
    found, _ = _attempt(authenticator, "user101", host=LAN)
    assert found is not None


async def test_an_empty_trusted_list_trusts_nobody() -> None:
    store = InMemoryStore()
    security = SecuritySettings(trusted_networks=[])
    store.seed(extensions=[_extension("101")], settings=SystemSettings(security=security))
    directory = Directory(store)
    await directory.load()
    seen: list[Block] = []
    auth = Authenticator(
        directory,
        NonceManager(secret=b"0123456789abcdef0123"),
        REALM,
        _Clock(),
        throttle=Throttle(ThrottlePolicy(user_failures=2)),
        on_block=seen.append,
    )
    for _ in range(2):
        _attempt(auth, "user101", "Wrong-password-000", host="127.0.0.1")
    assert [(b.address, b.user, b.trusted) for b in seen] == [("127.0.0.1", "user101", False)]
    assert [b.user for b in auth.unblock("127.0.0.1")] == ["user101"]
    assert len(seen) == 2  # the unblock is told too
    found, _ = _attempt(auth, "user101", host="127.0.0.1")
    assert found is not None


def test_unknown_user_while_directory_settles_is_rechallenged(
    authenticator: Authenticator,
) -> None:
    from centralino.domain.events import ChangesMissed

    authenticator.directory.handle_event(ChangesMissed(reason="test"))  # a whole reload
    assert authenticator.directory.settling
    _, response = _attempt(authenticator, "user-not-loaded-yet")
    assert response is not None
    assert response.status == 401  # not 403: the reload may bring the user
