"""Generation of SIP credentials and voicemail PINs.

Randomness comes from an injected ``random.Random`` (``secrets.SystemRandom``
in production), so tests can make generation repeatable.
"""

from __future__ import annotations

import random
import secrets
import string

__all__ = ["AUTH_ID_LENGTH", "PASSWORD_LENGTH", "PIN_LENGTH", "CredentialGenerator"]

PASSWORD_LENGTH = 20
AUTH_ID_LENGTH = 10
PIN_LENGTH = 6

# Letters and digits only: every phone's web UI and config format accepts them,
# and 20 of them still give about 119 bits of entropy.
_PASSWORD_ALPHABET = string.ascii_letters + string.digits
_AUTH_ID_ALPHABET = string.ascii_lowercase + string.digits


class CredentialGenerator:
    """Makes strong random SIP passwords, auth IDs and PINs."""

    def __init__(self, source: random.Random | None = None) -> None:
        self._random = source or secrets.SystemRandom()

    def _pick(self, alphabet: str, length: int) -> str:
        return "".join(self._random.choice(alphabet) for _ in range(length))

    def password(self) -> str:
        """Return a password with lower case, upper case and digits."""
        while True:
            candidate = self._pick(_PASSWORD_ALPHABET, PASSWORD_LENGTH)
            classes = (string.ascii_lowercase, string.ascii_uppercase, string.digits)
            if all(any(ch in chars for ch in candidate) for chars in classes):
                return candidate

    def auth_id(self) -> str:
        """Return a random authentication ID starting with a letter."""
        return self._random.choice(string.ascii_lowercase) + self._pick(
            _AUTH_ID_ALPHABET, AUTH_ID_LENGTH - 1
        )

    def pin(self) -> str:
        """Return a PIN that is not a run of one digit."""
        while True:
            candidate = self._pick(string.digits, PIN_LENGTH)
            if len(set(candidate)) > 1:
                return candidate
