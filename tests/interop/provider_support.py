"""Kamailio 5.6 as a SIP provider, for every trunk interop test.

Theory of operation. :func:`provider_rig` writes a Kamailio configuration
into a directory of the test and starts ``kamailio -f CFG -DD -E`` on a free
loopback port (UDP; TCP on the same port with ``tcp=True``), keeping its PID
and stopping it by that PID at the end. The provider has one trunk account:

* **Registrar** (RFC 3261 §10) for ``sip:USERNAME@…``: REGISTER is challenged
  with 401 (digest, ``qop=auth``, MD5 or SHA-256) and checked with
  ``pv_auth_check`` against the fixed password; the digest user must be the
  account's ``auth_user`` (default: the user name) and the To user the
  account's user name. A wrong password is challenged again (the PBX must
  give up). Bindings live in memory (usrloc ``db_mode=0``); the expiry
  granted is clamped to ``min_expires``/``max_expires``.
* **Calls from the PBX**: an INVITE whose source is the registered contact's
  address (for TCP: its host), or ``trust_pbx_address``, is optionally
  challenged with 407 (``challenge_invites``), optionally refused with a
  fixed status (``reject_invites``, e.g. 503 for failover tests), else
  record-routed and relayed to the "outside world" (``outside``: a SIPp UAS)
  with the Request-URI rewritten to it, the dialled number kept and the
  From (caller ID) untouched.
* **Calls to a DID**: an INVITE from anywhere else whose Request-URI user is
  one of the account's ``dids`` is relayed to the PBX's registered contact
  (``trust_pbx_address`` when there is no registration) with the DID kept
  as the Request-URI user (and in To); the From is the outside caller's.
  Any other INVITE is refused 404.

Tests read the registrar's bindings through Kamailio's own management
interface (``ul.dump`` over ``jsonrpcs`` on a loopback UDP port):
:meth:`ProviderRig.contacts`, :meth:`ProviderRig.wait_registered`,
:meth:`ProviderRig.wait_unregistered`. Every request the rig handles is
logged (``RIG ...`` lines in :meth:`ProviderRig.log`).

SIPp scenarios for the outside world are in ``tests/interop/scenarios``:
``provider_outside_uas.xml`` (answers with PCMU and plays ``rtp.pcap``;
``-rtp_echo`` also echoes) and ``provider_outside_uac.xml`` (calls a DID
through the rig with audio): see :func:`outside_uas_command` and
:func:`outside_uac_command`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tests.interop.calls_support import SCENARIOS, free_port
from tests.interop.pcap_support import RtpStream

__all__ = [
    "KAMAILIO_MODULES",
    "ProviderAccount",
    "ProviderContact",
    "ProviderOptions",
    "ProviderRig",
    "called_lines",
    "kamailio_available",
    "outside_uac_command",
    "outside_uas_command",
    "provider_rig",
    "write_outside_audio",
]

_T = TypeVar("_T")

KAMAILIO_MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")


def kamailio_available() -> bool:
    """Whether Kamailio and its modules are installed (tests skip otherwise)."""
    return shutil.which("kamailio") is not None and KAMAILIO_MODULES.is_dir()


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderAccount:
    """The trunk account the provider knows."""

    username: str = "39021234"
    password: str = "trunk-secret"
    auth_user: str | None = None
    """The digest user name; the user name when None."""
    dids: Sequence[str] = ("+390212345",)

    @property
    def digest_user(self) -> str:
        """The user name a challenge must be answered with."""
        return self.auth_user or self.username


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderOptions:
    """How the provider behaves (see the module's theory of operation)."""

    realm: str = "provider.test"
    algorithm: str = "MD5"
    """``MD5`` or ``SHA-256`` (the digest algorithm of the challenges)."""
    tcp: bool = False
    min_expires: int = 60
    max_expires: int | None = None
    """Clamp the granted expiry (e.g. 4: the PBX refreshes every 2 s)."""
    interval_too_brief: bool = False
    """Answer 423 with Min-Expires below ``min_expires`` instead of raising it."""
    challenge_invites: bool = False
    reject_invites: int | None = None
    """Answer every INVITE from the PBX with this status (e.g. 503)."""
    trust_pbx_address: tuple[str, int] | None = None
    """Where the PBX is when it does not register (IP-authenticated trunks)."""
    outside: tuple[str, int] | None = None
    """The outside world's SIP address (a SIPp UAS) for calls from the PBX."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderContact:
    """One binding the registrar holds."""

    aor: str
    contact: str
    expires: int
    """Seconds left, as Kamailio reports it."""
    call_id: str
    cseq: int
    user_agent: str


@dataclass
class ProviderRig:
    """A running Kamailio provider (stop it with :meth:`stop`)."""

    account: ProviderAccount
    options: ProviderOptions
    directory: Path
    port: int
    rpc_port: int
    process: subprocess.Popen[bytes] | None = None
    _log: Path = field(init=False)

    def __post_init__(self) -> None:
        self._log = self.directory / "kamailio.log"

    @property
    def address(self) -> tuple[str, int]:
        """The provider's SIP address."""
        return ("127.0.0.1", self.port)

    # Life cycle ---------------------------------------------------------------

    def start(self, within: float = 10.0) -> None:
        """Write the configuration, start Kamailio, wait until it answers RPC."""
        config = self.directory / "kamailio.cfg"
        config.write_text(render_config(self))
        command = [
            "kamailio",
            "-f", str(config), "-DD", "-E", "-m", "64", "-M", "8",
            "-Y", str(self.directory), "-P", str(self.directory / "kamailio.pid"),
        ]  # fmt: skip
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kamailio exited at start:\n{self.log()[-3000:]}")
            with contextlib.suppress(OSError, TimeoutError, ValueError):
                self.rpc("core.version", timeout=0.3)
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"kamailio did not start within {within} s:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        """Stop Kamailio by its PID (TERM, then KILL after 5 s)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    @property
    def running(self) -> bool:
        """Whether the Kamailio process is alive."""
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """What Kamailio wrote so far."""
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def log_lines(self, marker: str) -> list[str]:
        """The ``RIG <marker>`` lines of the log (the rig's own trace)."""
        tag = f"RIG {marker}"
        return [line for line in self.log().splitlines() if tag in line]

    # Management interface ---------------------------------------------------------

    def rpc(self, method: str, *params: str, timeout: float = 2.0) -> object:
        """Call a Kamailio RPC command (``jsonrpcs`` over loopback UDP)."""
        request = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout)
            sock.sendto(json.dumps(request).encode(), ("127.0.0.1", self.rpc_port))
            answer = json.loads(sock.recv(1 << 20))
        if "error" in answer:
            raise ValueError(f"{method}: {answer['error']}")
        return answer.get("result")

    def contacts(self) -> list[ProviderContact]:
        """The bindings of the trunk account now (``ul.dump``)."""
        result = self.rpc("ul.dump")
        found: list[ProviderContact] = []
        for domain in _items(result, "Domains"):
            for aor in _items(domain.get("Domain", {}), "AoRs"):
                info = aor.get("Info", {})
                name = str(info.get("AoR", ""))
                for item in info.get("Contacts", []) or []:
                    contact = item.get("Contact", {})
                    found.append(
                        ProviderContact(
                            aor=name,
                            contact=str(contact.get("Address", "")),
                            expires=_int(contact.get("Expires")),
                            call_id=str(contact.get("Call-ID", "")),
                            cseq=_int(contact.get("CSeq")),
                            user_agent=str(contact.get("User-Agent", "")),
                        )
                    )
        return [item for item in found if item.aor.split("@")[0] == self.account.username]

    async def wait_registered(
        self, within: float = 10.0, *, other_than: str | None = None
    ) -> ProviderContact:
        """The account's binding, once there is one (not with Call-ID ``other_than``)."""
        return await self._wait(within, lambda found: _first(found, other_than), "registered")

    async def wait_refreshed(self, after: ProviderContact, within: float = 10.0) -> ProviderContact:
        """The binding once its CSeq went past ``after``'s (a refresh was accepted)."""

        def refreshed(found: list[ProviderContact]) -> ProviderContact | None:
            for item in found:
                if item.call_id != after.call_id or item.cseq > after.cseq:
                    return item
            return None

        return await self._wait(within, refreshed, "refreshed")

    async def wait_unregistered(self, within: float = 10.0) -> None:
        """Return once the account has no binding left."""
        await self._wait(within, lambda found: True if not found else None, "unregistered")

    async def _wait(
        self, within: float, check: Callable[[list[ProviderContact]], _T | None], what: str
    ) -> _T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        found: list[ProviderContact] = []
        while loop.time() < deadline:
            found = await asyncio.to_thread(self.contacts)
            result = check(found)
            if result is not None:
                return result
            await asyncio.sleep(0.1)
        raise TimeoutError(f"not {what} within {within} s; bindings {found}:\n{self.log()[-2000:]}")


def _first(found: list[ProviderContact], other_than: str | None) -> ProviderContact | None:
    for item in found:
        if item.call_id != other_than:
            return item
    return None


def _items(container: object, key: str) -> list[dict[str, object]]:
    if not isinstance(container, dict):
        return []
    value = container.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


@contextlib.contextmanager
def provider_rig(
    directory: Path,
    account: ProviderAccount | None = None,
    options: ProviderOptions | None = None,
) -> Iterator[ProviderRig]:
    """A started provider in ``directory``; stopped (by PID) on the way out."""
    directory.mkdir(parents=True, exist_ok=True)
    rig = ProviderRig(
        account=account or ProviderAccount(),
        options=options or ProviderOptions(),
        directory=directory,
        port=_free_port_udp_and_tcp(),
        rpc_port=free_port(),
    )
    rig.start()
    try:
        yield rig
    finally:
        rig.stop()


def _free_port_udp_and_tcp() -> int:
    for _ in range(20):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no port free for both UDP and TCP")


# The configuration -----------------------------------------------------------------


def _quoted(text: str) -> str:
    if any(char in text for char in '"\\\r\n'):
        raise ValueError(f"not usable in the Kamailio configuration: {text!r}")
    return f'"{text}"'


def _did_condition(dids: Sequence[str]) -> str:
    tests = [f"$rU == {_quoted(did)}" for did in dids]
    return " || ".join(tests) if tests else "0"


def render_config(rig: ProviderRig) -> str:
    """The Kamailio configuration of ``rig`` (see the module's theory of operation)."""
    account, options = rig.account, rig.options
    listen = [f"listen=udp:127.0.0.1:{rig.port}"]
    if options.tcp:
        listen.append(f"listen=tcp:127.0.0.1:{rig.port}")
    trusted = options.trust_pbx_address
    outside = options.outside
    replacements = {
        "@LISTEN@": "\n".join(listen),
        "@TCP_DISABLED@": "no" if options.tcp else "yes",
        "@RPC_PORT@": str(rig.rpc_port),
        "@REALM@": _quoted(options.realm),
        "@ALGORITHM@": _quoted(options.algorithm),
        "@PASSWORD@": _quoted(account.password),
        "@AUTH_USER@": _quoted(account.digest_user),
        "@USERNAME@": _quoted(account.username),
        "@AOR@": _quoted(f"sip:{account.username}@{options.realm}"),
        "@MIN_EXPIRES@": str(options.min_expires),
        "@MAX_EXPIRES@": str(options.max_expires or 0),
        "@MIN_EXPIRES_MODE@": "1" if options.interval_too_brief else "0",
        "@CHALLENGE_INVITES@": "1" if options.challenge_invites else "0",
        "@REJECT@": "1" if options.reject_invites else "0",
        "@REJECT_STATUS@": str(options.reject_invites or 503),
        "@TRUSTED_HOST@": _quoted(trusted[0] if trusted else ""),
        "@TRUSTED_PORT@": str(trusted[1] if trusted else 0),
        "@OUTSIDE@": _quoted(f"{outside[0]}:{outside[1]}" if outside else ""),
        "@IS_DID@": _did_condition(account.dids),
        "@MODULES@": str(KAMAILIO_MODULES) + "/",
    }
    text = _TEMPLATE
    for key, value in replacements.items():
        text = text.replace(key, value)
    return text


_TEMPLATE = r"""#!KAMAILIO
# A SIP provider for Centralino's trunk tests (tests/interop/provider_support.py).
debug=2
log_stderror=yes
memdbg=5
memlog=5
children=2
tcp_children=2
disable_tcp=@TCP_DISABLED@
auto_aliases=no
@LISTEN@
mpath="@MODULES@"

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
loadmodule "xlog.so"
loadmodule "jsonrpcs.so"

modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", @MIN_EXPIRES@)
modparam("registrar", "max_expires", @MAX_EXPIRES@)
modparam("registrar", "min_expires_mode", @MIN_EXPIRES_MODE@)
modparam("auth", "algorithm", @ALGORITHM@)
modparam("auth", "nonce_expire", 300)
modparam("rr", "append_fromtag", 1)
modparam("jsonrpcs", "transport", 4)
modparam("jsonrpcs", "dgram_socket", "udp:127.0.0.1:@RPC_PORT@")

request_route {
    xlog("L_INFO", "RIG IN $rm $ru from $si:$sp ($pr) From=$fu To=$tu\n");
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    if (has_totag()) {
        if (loose_route()) { t_relay(); exit; }
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        if (!(uri == myself)) {
            # A UAS that did not copy Record-Route into its 2xx (RFC 3261
            # §12.1.1): relayed by Request-URI, and noted for the tests.
            xlog("L_INFO", "RIG NO-ROUTE $rm $ru from $si:$sp\n");
            t_relay();
            exit;
        }
        if (is_method("ACK")) { exit; }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
    if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
    if (is_method("REGISTER")) { route(REGISTRAR); }
    if (is_method("INVITE")) {
        route(FROM_PBX);
        route(TO_DID);
        sl_send_reply("404", "No such number");
        exit;
    }
    sl_send_reply("405", "Method Not Allowed");
    exit;
}

route[REGISTRAR] {
    if (!pv_auth_check(@REALM@, @PASSWORD@, "0", "0") || $au != @AUTH_USER@) {
        xlog("L_INFO", "RIG CHALLENGE REGISTER $tu user=$au\n");
        auth_challenge(@REALM@, "1");
        exit;
    }
    if ($tU != @USERNAME@) {
        xlog("L_INFO", "RIG REFUSED REGISTER $tu\n");
        sl_send_reply("403", "Not this account");
        exit;
    }
    if (!save("location", "0", @AOR@)) { sl_reply_error(); exit; }
    xlog("L_INFO", "RIG REGISTERED $ct expires=$hdr(Expires)\n");
    exit;
}

route[FROM_PBX] {
    $var(pbx) = 0;
    if (@TRUSTED_PORT@ != 0 && $si == @TRUSTED_HOST@ && $sp == @TRUSTED_PORT@) {
        $var(pbx) = 1;
    } else if (reg_fetch_contacts("location", @AOR@, "pbx")) {
        $var(where) = $(ulc(pbx=>addr){uri.host});
        if ($si == $var(where) && ($pr == "tcp" || $sp == $(ulc(pbx=>addr){uri.port}))) {
            $var(pbx) = 1;
        }
    }
    if ($var(pbx) == 0) { return; }
    if (@CHALLENGE_INVITES@ == 1) {
        if (!pv_auth_check(@REALM@, @PASSWORD@, "0", "0") || $au != @AUTH_USER@) {
            xlog("L_INFO", "RIG CHALLENGE INVITE $ru\n");
            auth_challenge(@REALM@, "1");
            exit;
        }
        consume_credentials();
    }
    if (@REJECT@ == 1) {
        xlog("L_INFO", "RIG REJECTED $ru with @REJECT_STATUS@\n");
        sl_send_reply("@REJECT_STATUS@", "Refused by the provider rig");
        exit;
    }
    if (@OUTSIDE@ == "") { sl_send_reply("404", "No outside world"); exit; }
    record_route();
    $ru = "sip:" + $rU + "@" + @OUTSIDE@;
    xlog("L_INFO", "RIG OUTBOUND $ru From=$fu\n");
    t_relay();
    exit;
}

route[TO_DID] {
    if (!(@IS_DID@)) { return; }
    $var(did) = $rU;
    if (@TRUSTED_PORT@ != 0) {
        $ru = "sip:" + $var(did) + "@" + @TRUSTED_HOST@ + ":" + @TRUSTED_PORT@;
    } else if (!lookup("location", @AOR@)) {
        xlog("L_INFO", "RIG UNREACHABLE DID $var(did)\n");
        sl_send_reply("480", "Trunk not registered");
        exit;
    }
    $rU = $var(did);
    record_route();
    xlog("L_INFO", "RIG INBOUND $ru From=$fu\n");
    t_relay();
    exit;
}
"""


def _sipp_common(directory: Path, name: str, timeout: float, echo: bool) -> list[str]:
    media = ["-mi", "127.0.0.1", "-mp", str(free_port())] + (["-rtp_echo"] if echo else [])
    return [
        *media,
        "-timeout", f"{int(timeout)}s", "-timeout_error", "-nostdin",
        "-trace_msg", "-message_file", str(directory / f"{name}.msg"),
        "-trace_logs", "-log_file", str(directory / f"{name}.log"),
        "-buff_size", "4194304",
    ]  # fmt: skip


def outside_uas_command(
    port: int,
    directory: Path,
    *,
    calls: int = 1,
    timeout: float = 60.0,
    echo: bool = False,
) -> list[str]:
    """SIPp as the outside world's callee on ``port`` (answers, plays ``rtp.pcap``).

    Run it with ``directory`` as its working directory, holding ``rtp.pcap``
    (``tests.interop.pcap_support`` writes one). It exits 0 after ``calls``
    calls, each ended by the caller's BYE; ``directory/outside_uas.log`` has
    one ``CALLED ruri=... from=... to=... pai=...`` line per call
    (:func:`called_lines`). ``echo`` also sends back the RTP it receives.
    """
    return [
        "sipp", "-sf", str(SCENARIOS / "provider_outside_uas.xml"),
        "-i", "127.0.0.1", "-p", str(port), "-m", str(calls),
        *_sipp_common(directory, "outside_uas", timeout, echo),
    ]  # fmt: skip


def outside_uac_command(
    rig: ProviderRig,
    did: str,
    directory: Path,
    *,
    caller: str = "+393351234567",
    hold_ms: int = 3000,
    timeout: float = 60.0,
    echo: bool = False,
) -> list[str]:
    """SIPp as an outside caller dialling ``did`` through the provider.

    Run it with ``directory`` as its working directory, holding ``rtp.pcap``.
    It offers PCMU and RFC 4733, plays ``rtp.pcap`` once answered, waits
    ``hold_ms`` and hangs up. Exit 0: the call was answered and ended.
    """
    return [
        "sipp", "127.0.0.1:" + str(rig.port), "-sf", str(SCENARIOS / "provider_outside_uac.xml"),
        "-i", "127.0.0.1", "-p", str(free_port()), "-s", did, "-m", "1",
        "-set", "caller", caller, "-set", "hold", str(hold_ms),
        *_sipp_common(directory, "outside_uac", timeout, echo),
    ]  # fmt: skip


def write_outside_audio(directory: Path, frequency: float = 1000.0, seconds: float = 8.0) -> Path:
    """Write ``directory/rtp.pcap``: PCMU of one sine tone, what the outside world says.

    A phone's received WAV then shows ``frequency`` (Goertzel, as in
    ``tests.interop.baresip_support``) when audio reached it through the trunk.
    """
    samples = (
        int(12000 * math.sin(2 * math.pi * frequency * n / 8000))
        for n in range(int(8000 * seconds))
    )
    stream = RtpStream()
    stream.audio(b"".join(struct.pack("<h", sample) for sample in samples))
    return stream.write(directory / "rtp.pcap")


def called_lines(directory: Path) -> list[str]:
    """The ``CALLED ...`` lines the outside callee logged (one per call)."""
    path = directory / "outside_uas.log"
    if not path.exists():
        return []
    text = path.read_text(errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip().startswith("CALLED ")]
