"""Management accounts: the owner created on first start, logins, tokens.

Console and API passwords are stored as argon2 hashes, hashed and checked
on the bounded ``SlowWork`` threads, never on the event loop that carries the
calls. Access tokens are HMAC-signed with a server secret
(``username.expiry.stamp.signature``), so they need no table and survive a
restart while the secret is kept. The *stamp* is a keyed digest of the
account's password hash: a password change (a new hash, with a new salt)
makes every token issued before it invalid, for every kind of account, on
every node, with no schema change.

Logins go through a :class:`~centralino.admin.login_throttle.LoginThrottle`
(growing delays per account and per address; HTTP 429) and cost the same for
unknown and known user names: an unknown one is checked against a dummy hash
made with the same parameters.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from centralino.admin.audit import record
from centralino.admin.context import Actor
from centralino.admin.login_throttle import LoginThrottle
from centralino.admin.workers import SlowWork
from centralino.domain.account import OWNER_USERNAME, Account, AccountRole
from centralino.domain.audit import AuditAction
from centralino.domain.errors import Busy, InvalidInput, NotFound, TooManyAttempts, Unauthorized
from centralino.domain.ports import Clock, UnitOfWorkFactory

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "TOKEN_LIFETIME",
    "AccountService",
    "TokenClaims",
    "TokenSigner",
]

MIN_PASSWORD_LENGTH = 12
TOKEN_LIFETIME = dt.timedelta(hours=12)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenClaims:
    """What a genuine, unexpired token says."""

    username: str
    password_stamp: str
    """A keyed digest of the account's password hash when the token was issued."""


class TokenSigner:
    """Signs and checks bearer tokens with a server secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def stamp(self, password_hash: str) -> str:
        """The token's stamp for an account whose password hash is ``password_hash``."""
        digest = hmac.new(self._secret, b"password:" + password_hash.encode(), hashlib.sha256)
        return _b64(digest.digest()[:12])

    def issue(self, username: str, expires: dt.datetime, password_hash: str) -> str:
        """Return a token for ``username`` valid until ``expires`` or a password change."""
        stamp = self.stamp(password_hash)
        payload = f"{_b64(username.encode())}.{int(expires.timestamp())}.{stamp}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: dt.datetime) -> TokenClaims:
        """Return what the token says.

        Raises:
            Unauthorized: the token is malformed, forged or expired.
        """
        try:
            user_part, expiry, stamp, signature = token.split(".")
            username = _b64decode(user_part)
            expires = int(expiry)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unauthorized("malformed token") from exc
        expected = self._sign(f"{user_part}.{expiry}.{stamp}")
        # Bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise Unauthorized("invalid token")
        if now.timestamp() >= expires:
            raise Unauthorized("token expired")
        return TokenClaims(username=username, password_stamp=stamp)

    def is_current(self, claims: TokenClaims, password_hash: str) -> bool:
        """Whether the token was issued since the account's last password change."""
        return hmac.compare_digest(
            claims.password_stamp.encode(), self.stamp(password_hash).encode()
        )


class AccountService:
    """Log in, check tokens, create the owner, change passwords."""

    def __init__(
        self,
        units: UnitOfWorkFactory,
        clock: Clock,
        signer: TokenSigner,
        *,
        work: SlowWork | None = None,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self._units, self._clock, self._signer = units, clock, signer
        self._work = work or SlowWork()
        self._throttle = throttle or LoginThrottle()
        self._hasher = PasswordHasher()
        self._dummy_hash: str | None = None

    async def ensure_owner(self, password: str | None = None) -> str | None:
        """Create the ``admin`` owner account if it does not exist.

        Args:
            password: the password to set; generated when None.

        Returns:
            The password when the account was created now (to print once), else None.
        """
        async with self._units() as uow:
            if await uow.accounts.get(OWNER_USERNAME) is not None:
                return None
        chosen = password or secrets.token_urlsafe(15)
        _check_strength(chosen)
        owner = Account(
            username=OWNER_USERNAME,
            password_hash=await self._work.run(self._hasher.hash, chosen),
            role=AccountRole.OWNER,
        )
        async with self._units() as uow:
            if await uow.accounts.get(OWNER_USERNAME) is not None:
                return None
            await uow.accounts.put(owner)
            await uow.commit()
        return chosen

    async def login(self, username: str, password: str, address: str = "") -> str:
        """Check a user name and password and return a bearer token.

        Args:
            username: the account's name (an unknown one costs the same time).
            password: the password to check.
            address: where the attempt comes from (the client's IP address).

        Raises:
            TooManyAttempts: too many failures for the account or from the
                address: the attempt was not checked, even a right password.
            Busy: too many password checks are waiting already.
            Unauthorized: unknown user or wrong password (the same answer for both).
        """
        self._work.check_room()
        wait = self._throttle.admit(username, address, self._clock.now().timestamp())
        if wait > 0:
            raise TooManyAttempts("too many failed logins: try again later", math.ceil(wait))
        async with self._units() as uow:
            account = await uow.accounts.get(username)
        try:
            stored = account.password_hash if account is not None else await self._dummy()
            matches = await self._work.run(self._matches, stored, password)
        except Busy:
            self._throttle.withdraw(username, address)
            raise
        if not matches or account is None:
            raise Unauthorized("wrong user name or password")
        self._throttle.succeeded(username, address, self._clock.now().timestamp())
        expires = self._clock.now() + TOKEN_LIFETIME
        return self._signer.issue(username, expires, account.password_hash)

    def _matches(self, stored: str, password: str) -> bool:
        """Check on a worker thread (argon2 takes ~150 ms of a core by design)."""
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _dummy(self) -> str:
        """A hash with the current parameters, for unknown names to be checked against."""
        if self._dummy_hash is None:
            self._dummy_hash = await self._work.run(self._hasher.hash, secrets.token_urlsafe(16))
        return self._dummy_hash

    async def prepare(self) -> None:
        """Make the dummy hash now, so that the first login costs no more than the others."""
        await self._dummy()

    async def actor_for_token(self, token: str) -> Actor:
        """Return who holds a token.

        Raises:
            Unauthorized: the token is bad, its account is gone, or the
                account's password changed since it was issued.
        """
        claims = self._signer.verify(token, self._clock.now())
        async with self._units() as uow:
            account = await uow.accounts.get(claims.username)
        if account is None:
            raise Unauthorized("account no longer exists")
        if not self._signer.is_current(claims, account.password_hash):
            raise Unauthorized("the password was changed since the token was issued")
        return Actor(username=account.username, role=account.role)

    async def set_password(self, actor: Actor, username: str, password: str) -> None:
        """Set an account's password; the tokens issued before stop working.

        Raises:
            NotFound: no such account.
            InvalidInput: the password is too weak.
        """
        _check_strength(password)
        async with self._units() as uow:
            if await uow.accounts.get(username) is None:
                raise NotFound("account", username)
        hashed = await self._work.run(self._hasher.hash, password)
        async with self._units() as uow:
            account = await uow.accounts.get(username)
            if account is None:
                raise NotFound("account", username)
            changed = account.model_copy(update={"password_hash": hashed})
            await uow.accounts.put(changed)
            await record(
                uow.audit,
                self._clock,
                actor,
                AuditAction.CHANGE_PASSWORD,
                "account",
                username,
                None,
                None,
            )
            await uow.commit()


def _check_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        reason = f"must be at least {MIN_PASSWORD_LENGTH} characters"
        raise InvalidInput.single("password", reason)
