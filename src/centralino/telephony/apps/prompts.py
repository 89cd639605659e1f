"""The voice prompts of the PBX applications, and sentences composed from them.

The prompts are English WAV files generated once by ``scripts/make-prompts``
(espeak-ng) from the table ``prompts/prompts.toml`` and shipped in the
package: one file per sentence of a menu and per word that numbers, dates
and phone numbers are composed from (``0``-``19``, the tens, ``hundred``,
ordinals, months, weekdays, ``plus``, ``star``, ``pound``...).

:class:`Prompts` loads them once (:meth:`Prompts.load`) as 8 kHz 16-bit mono
PCM and composes what an application plays: every method returns a list of
PCM buffers that :meth:`Channel.play <centralino.telephony.apps.channel.Channel.play>`
plays one after another.

Dates are said as "Tuesday December first at ten oh five A M": weekday,
month, ordinal day, then the time on a 12-hour clock ("o'clock" on the hour,
"oh" before a single-digit minute), in the time zone the caller gives (the
server's local zone by default).
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from types import MappingProxyType

from centralino.media.wav import read_wav

__all__ = ["Prompts"]

_PACKAGE = "centralino.telephony.apps"
_DIRECTORY = "prompts"
_TABLE = "prompts.toml"
_SYMBOLS = {"+": "plus", "*": "star", "#": "pound"}


class Prompts:
    """A set of named prompts (PCM) and the sentences composed from them.

    Args:
        clips: prompt name -> 16-bit little-endian mono PCM at 8 kHz.
    """

    def __init__(self, clips: Mapping[str, bytes]) -> None:
        self._clips = MappingProxyType(dict(clips))

    @classmethod
    def load(cls) -> Prompts:
        """The prompts shipped with the package (read once, then shared)."""
        return _shipped()

    @property
    def names(self) -> frozenset[str]:
        """Every prompt name."""
        return frozenset(self._clips)

    def clip(self, name: str) -> bytes:
        """One prompt's PCM.

        Raises:
            KeyError: no prompt has that name.
        """
        try:
            return self._clips[name]
        except KeyError:
            raise KeyError(f"no voice prompt named {name!r}") from None

    def say(self, *names: str) -> list[bytes]:
        """The named prompts, in order."""
        return [self.clip(name) for name in names]

    def number(self, n: int) -> list[bytes]:
        """A cardinal number: 42 -> "forty" "two"; 305 -> "three" "hundred" "five".

        From 1000 on, the number is read digit by digit.

        Raises:
            ValueError: ``n`` is negative.
        """
        if n < 0:
            raise ValueError(f"cannot say the negative number {n}")
        return self.say(*_number_words(n))

    def ordinal(self, n: int) -> list[bytes]:
        """An ordinal from 1 to 39 (days of the month): 21 -> "twenty" "first".

        Raises:
            ValueError: ``n`` is out of range.
        """
        if not 1 <= n <= 39:
            raise ValueError(f"cannot say the ordinal {n}")
        if n <= 20 or n % 10 == 0:
            return self.say(f"ordinal-{n}")
        return self.say(str(n - n % 10), f"ordinal-{n % 10}")

    def digits(self, text: str) -> list[bytes]:
        """Each digit, '+', '*' and '#' of ``text`` one by one; other characters are skipped."""
        return self.say(*_digit_words(text))

    def date_time(self, moment: dt.datetime, tz: dt.tzinfo | None = None) -> list[bytes]:
        """E.g. "Tuesday" "December" "first" "at" "ten" "oh" "five" "A M".

        Args:
            moment: the instant; a naive datetime is taken as already local.
            tz: the zone to say it in (None: the server's local time zone).
        """
        local = moment.astimezone(tz) if moment.tzinfo is not None else moment
        spoken = self.say(f"weekday-{local.weekday()}", f"month-{local.month}")
        spoken += self.ordinal(local.day)
        spoken += self.say("at")
        spoken += self.number(local.hour % 12 or 12)
        if local.minute == 0:
            spoken += self.say("oclock")
        elif local.minute < 10:
            spoken += self.say("oh", str(local.minute))
        else:
            spoken += self.number(local.minute)
        spoken += self.say("am" if local.hour < 12 else "pm")
        return spoken

    def default_greeting(self, extension: str) -> list[bytes]:
        """ "The person at extension" <digits> "is not available. Please leave a message..."."""
        return [
            *self.say("person-at-extension"),
            *self.digits(extension),
            *self.say("not-available"),
        ]


def _number_words(n: int) -> list[str]:
    if n >= 1000:
        return _digit_words(str(n))
    words: list[str] = []
    if n >= 100:
        words += [str(n // 100), "hundred"]
        n %= 100
        if n == 0:
            return words
    if n < 20:
        return [*words, str(n)]
    words.append(str(n - n % 10))
    if n % 10:
        words.append(str(n % 10))
    return words


def _digit_words(text: str) -> list[str]:
    return [
        _SYMBOLS.get(char, char)
        for char in text
        if char.isascii() and (char.isdigit() or char in _SYMBOLS)
    ]


def _read_clips(names: Iterable[str]) -> dict[str, bytes]:
    folder = resources.files(_PACKAGE).joinpath(_DIRECTORY)
    return {name: read_wav(folder.joinpath(f"{name}.wav").read_bytes()).pcm for name in names}


@functools.cache
def _shipped() -> Prompts:
    folder = resources.files(_PACKAGE).joinpath(_DIRECTORY)
    table = tomllib.loads(folder.joinpath(_TABLE).read_text(encoding="utf-8"))
    names: dict[str, str] = table["prompts"]
    return Prompts(_read_clips(names))
