"""Phone numbers at the PBX's edge: E.164 inside, each trunk's format outside.

Theory of operation. Inside the PBX an outside number is kept in E.164
(``+`` and the country code first: ``+390612345678``) whenever it can be, so
that DIDs, caller IDs, call records and callbacks compare equal whatever
trunk carried them. A provider writes numbers its own way
(:class:`~centralino.domain.trunks.NumberFormat`): :func:`to_e164` reads a
number as a trunk sent it (or as a user dialled it) and :func:`for_trunk`
writes a number the way a trunk wants it.

Reading (:func:`normalise`), first rule that applies:

1. visual separators (space, ``-``, ``.``, ``(``, ``)``) are ignored;
   anything else but digits after an optional ``+`` is not a number: the
   text is returned as it came (``anonymous``, ``*31``);
2. ``+`` and digits is already E.164;
3. a short number (at most :data:`SHORT_NUMBER_MAX_DIGITS` digits: ``112``,
   ``4242``) is a service or internal number and stays as it is;
4. ``00`` and digits is international (the ITU's international prefix,
   used across Europe): ``0044...`` -> ``+44...``;
5. with a country code: a number starting with the national (trunk)
   prefix is national: the prefix is dropped and the country code put in
   front (UK-like: ``02071234567`` -> ``+442071234567``). An empty
   national prefix means every longer number is national and is kept
   whole (Italy-like: ``0612345678`` -> ``+390612345678``);
6. anything else is returned as it came.

A result that would not be valid E.164 (more than 15 digits, a country code
starting with 0) is not produced: the input is returned instead. So the
answer is always valid E.164 or the input unchanged.

Writing (:func:`national_form`): an E.164 number of the trunk's own country
loses its country code and gets the national prefix back; any other country
gets the international prefix ``00``. Numbers that are not E.164 after
reading (short numbers, ``anonymous``) are sent as they are.

Countries such as Italy dial the leading 0 of fixed numbers after the
country code (``+39 06 ...`` is dialled ``06 ...`` at home): there is no
trunk prefix to drop or add, and the administrator sets the trunk's
``national_prefix`` to ``""``. Countries with a trunk prefix (the UK, ``0``:
``+44 20 ...`` is dialled ``020 ...``) keep the default ``"0"``.
"""

from __future__ import annotations

import re

from centralino.domain.trunks import NumberFormat, Trunk

__all__ = [
    "INTERNATIONAL_PREFIX",
    "SHORT_NUMBER_MAX_DIGITS",
    "for_trunk",
    "is_e164",
    "national_form",
    "normalise",
    "to_e164",
]

INTERNATIONAL_PREFIX = "00"
"""The prefix that dials out of the country (ITU-T E.164 recommends ``00``)."""

SHORT_NUMBER_MAX_DIGITS = 6
"""Numbers this short (emergency, services, internal) are never rewritten."""

_SEPARATORS = str.maketrans("", "", " -.()")
_NUMBER = re.compile(r"\+?[0-9]+")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def is_e164(number: str) -> bool:
    """Tell whether a number is in E.164 form: ``+``, then 2 to 15 digits, not ``+0``.

    >>> is_e164("+390612345678"), is_e164("0612345678"), is_e164("+0612")
    (True, False, False)
    """
    return _E164.fullmatch(number) is not None


def normalise(number: str, *, country_code: str | None, national_prefix: str) -> str:
    """Read a number to E.164 when it can be (the rules in the module docstring).

    >>> normalise("0044 20 7123 4567", country_code=None, national_prefix="0")
    '+442071234567'
    >>> normalise("02071234567", country_code="44", national_prefix="0")
    '+442071234567'
    >>> normalise("0612345678", country_code="39", national_prefix="")
    '+390612345678'
    >>> normalise("112", country_code="39", national_prefix="")
    '112'

    Args:
        number: the number as a provider sent it or a user dialled it.
        country_code: the home country (``"39"``), or None when unknown (only
            ``+`` and ``00`` numbers are then recognised).
        national_prefix: the national (trunk) prefix, ``""`` for none.

    Returns:
        The number in E.164, or ``number`` unchanged when it is short, not a
        number, or not recognised.
    """
    cleaned = number.translate(_SEPARATORS)
    if _NUMBER.fullmatch(cleaned) is None:
        return number
    if cleaned.startswith("+"):
        candidate = cleaned
    elif len(cleaned) <= SHORT_NUMBER_MAX_DIGITS:
        return number
    elif cleaned.startswith(INTERNATIONAL_PREFIX):
        candidate = "+" + cleaned[len(INTERNATIONAL_PREFIX) :]
    elif country_code is None:
        return number
    elif cleaned.startswith(national_prefix):
        candidate = f"+{country_code}{cleaned[len(national_prefix) :]}"
    else:
        return number
    return candidate if is_e164(candidate) else number


def national_form(number: str, *, country_code: str, national_prefix: str) -> str:
    """Write an E.164 number the way it is dialled in the country ``country_code``.

    >>> national_form("+442071234567", country_code="44", national_prefix="0")
    '02071234567'
    >>> national_form("+390612345678", country_code="39", national_prefix="")
    '0612345678'
    >>> national_form("+442071234567", country_code="39", national_prefix="")
    '00442071234567'
    >>> national_form("112", country_code="39", national_prefix="")
    '112'

    Args:
        number: a number, E.164 or not.
        country_code: the home country.
        national_prefix: the national (trunk) prefix, ``""`` for none.

    Returns:
        The national prefix and the national number for the home country,
        ``00`` and the digits for another country; a number that is not
        E.164 unchanged.
    """
    if not is_e164(number):
        return number
    home = "+" + country_code
    if number.startswith(home):
        return national_prefix + number[len(home) :]
    return INTERNATIONAL_PREFIX + number[1:]


def to_e164(number: str, trunk: Trunk) -> str:
    """Read a number as ``trunk`` writes it (its country and national prefix).

    >>> from centralino.domain.trunks import Trunk
    >>> uk = Trunk(name="uk", host="sip.example.net", number_format="national",
    ...            country_code="44", national_prefix="0")
    >>> to_e164("02071234567", uk), to_e164("+33123456789", uk), to_e164("999", uk)
    ('+442071234567', '+33123456789', '999')

    Args:
        number: the number as the provider sent it (From, To, Request-URI
            user part, parameters removed) or as a user dialled it.
        trunk: the trunk; its ``country_code`` and ``national_prefix`` are
            used whatever its ``number_format`` (an E.164 trunk with a
            country code also understands national numbers).

    Returns:
        The number in E.164, or unchanged (see :func:`normalise`).
    """
    return normalise(number, country_code=trunk.country_code, national_prefix=trunk.national_prefix)


def for_trunk(number: str, trunk: Trunk) -> str:
    """Write a number (E.164, or as dialled) the way ``trunk`` wants it.

    >>> from centralino.domain.trunks import Trunk
    >>> italy = Trunk(name="it", host="sip.example.net", number_format="national",
    ...               country_code="39", national_prefix="")
    >>> for_trunk("+390612345678", italy), for_trunk("+33123456789", italy)
    ('0612345678', '0033123456789')
    >>> e164 = Trunk(name="e", host="sip.example.net", country_code="39", national_prefix="")
    >>> for_trunk("0612345678", e164), for_trunk("112", e164)
    ('+390612345678', '112')

    Args:
        number: the number to send (after an outbound rule's rewriting).
        trunk: the trunk that carries it.

    Returns:
        E.164 for an ``e164`` trunk, the national form for a ``national``
        one; a number that cannot be read as E.164 is sent as it is.
    """
    e164 = to_e164(number, trunk)
    if not is_e164(e164) or trunk.number_format is NumberFormat.E164:
        return e164
    if trunk.country_code is None:  # refused by Trunk's validation; kept E.164
        return e164
    return national_form(
        e164, country_code=trunk.country_code, national_prefix=trunk.national_prefix
    )
