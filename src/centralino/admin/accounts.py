"""Management accounts: the owner created on first start, logins, tokens.

Console and API passwords are stored as argon2 hashes. Access tokens are
HMAC-signed (``username.expiry.signature``) with a server secret, so they need
no table and survive a restart while the secret is kept.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from centralino.admin.audit import record
from centralino.admin.context import Actor
from centralino.domain.account import OWNER_USERNAME, Account, AccountRole
from centralino.domain.audit import AuditAction
from centralino.domain.errors import InvalidInput, NotFound, Unauthorized
from centralino.domain.ports import Clock, UnitOfWorkFactory

__all__ = ["MIN_PASSWORD_LENGTH", "TOKEN_LIFETIME", "AccountService", "TokenSigner"]

MIN_PASSWORD_LENGTH = 12
TOKEN_LIFETIME = dt.timedelta(hours=12)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenSigner:
    """Signs and checks bearer tokens with a server secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def issue(self, username: str, expires: dt.datetime) -> str:
        """Return a token for ``username`` valid until ``expires``."""
        payload = f"{_b64(username.encode())}.{int(expires.timestamp())}"
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: dt.datetime) -> str:
        """Return the token's user name.

        Raises:
            Unauthorized: the token is malformed, forged or expired.
        """
        try:
            user_part, expiry, signature = token.split(".")
            username = base64.urlsafe_b64decode(user_part + "=" * (-len(user_part) % 4)).decode()
            expires = int(expiry)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unauthorized("malformed token") from exc
        expected = self._sign(f"{user_part}.{expiry}")
        # Bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise Unauthorized("invalid token")
        if now.timestamp() >= expires:
            raise Unauthorized("token expired")
        return username


class AccountService:
    """Log in, check tokens, create the owner, change passwords."""

    def __init__(self, units: UnitOfWorkFactory, clock: Clock, signer: TokenSigner) -> None:
        self._units, self._clock, self._signer = units, clock, signer
        self._hasher = PasswordHasher()

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
                password_hash=self._hasher.hash(chosen),
                role=AccountRole.OWNER,
            )
            await uow.accounts.put(owner)
            await uow.commit()
        return chosen

    async def login(self, username: str, password: str) -> str:
        """Check a user name and password and return a bearer token.

        Raises:
            Unauthorized: unknown user or wrong password (the same answer for both).
        """
        async with self._units() as uow:
            account = await uow.accounts.get(username)
        try:
            if account is None:
                raise VerificationError("unknown account")
            self._hasher.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError) as exc:
            raise Unauthorized("wrong user name or password") from exc
        return self._signer.issue(username, self._clock.now() + TOKEN_LIFETIME)

    async def actor_for_token(self, token: str) -> Actor:
        """Return who holds a token.

        Raises:
            Unauthorized: the token is bad or its account is gone.
        """
        username = self._signer.verify(token, self._clock.now())
        async with self._units() as uow:
            account = await uow.accounts.get(username)
        if account is None:
            raise Unauthorized("account no longer exists")
        return Actor(username=account.username, role=account.role)

    async def set_password(self, actor: Actor, username: str, password: str) -> None:
        """Set an account's password.

        Raises:
            NotFound: no such account.
            InvalidInput: the password is too weak.
        """
        _check_strength(password)
        async with self._units() as uow:
            account = await uow.accounts.get(username)
            if account is None:
                raise NotFound("account", username)
            changed = account.model_copy(update={"password_hash": self._hasher.hash(password)})
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
