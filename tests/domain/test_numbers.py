"""Numbers at the PBX's edge: E.164 in, each trunk's format out (Italy-like and UK-like)."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centralino.domain import numbers
from centralino.domain.numbers import (
    SHORT_NUMBER_MAX_DIGITS,
    for_trunk,
    is_e164,
    national_form,
    normalise,
    to_e164,
)
from centralino.domain.trunks import Trunk
from centralino.routing import outbound

fast = settings(max_examples=200, deadline=None)


def trunk(**fields: object) -> Trunk:
    return Trunk.model_validate({"name": "t", "host": "sip.example.net", **fields})


ITALY = trunk(number_format="national", country_code="39", national_prefix="")
"""Italy writes fixed numbers with their 0 after +39: no trunk prefix."""
UK = trunk(number_format="national", country_code="44", national_prefix="0")
"""The UK drops its trunk prefix 0 after +44."""
E164_ITALY = trunk(country_code="39", national_prefix="")
E164_BARE = trunk()
"""E.164 format, no country: only '+' and '00' numbers are understood."""


@pytest.mark.parametrize(
    ("number", "trunk_", "expected"),
    [
        ("+390612345678", ITALY, "+390612345678"),
        ("0612345678", ITALY, "+390612345678"),
        ("3351234567", ITALY, "+393351234567"),
        ("0033123456789", ITALY, "+33123456789"),
        ("112", ITALY, "112"),
        ("4242", ITALY, "4242"),
        ("02071234567", UK, "+442071234567"),
        ("0033123456789", UK, "+33123456789"),
        ("999", UK, "999"),
        ("7123456", UK, "7123456"),  # no trunk prefix: not recognised, kept
        ("020 7123-4567", UK, "+442071234567"),
        ("(020) 7123.4567", UK, "+442071234567"),
        ("0612345678", E164_BARE, "0612345678"),
        ("0033123456789", E164_BARE, "+33123456789"),
        ("0612345678", E164_ITALY, "+390612345678"),
        ("anonymous", ITALY, "anonymous"),
        ("*31", ITALY, "*31"),
        ("", UK, ""),
        ("+0612345678", ITALY, "+0612345678"),  # no country starts with 0
        ("00012345678", ITALY, "00012345678"),
        ("+1234567890123456", ITALY, "+1234567890123456"),  # 16 digits: too long
        ("001123", UK, "001123"),  # short: kept even with 00
    ],
)
def test_to_e164(number: str, trunk_: Trunk, expected: str) -> None:
    assert to_e164(number, trunk_) == expected


@pytest.mark.parametrize(
    ("number", "trunk_", "expected"),
    [
        ("+390612345678", ITALY, "0612345678"),
        ("+393351234567", ITALY, "3351234567"),
        ("+442071234567", ITALY, "00442071234567"),
        ("0612345678", ITALY, "0612345678"),
        ("112", ITALY, "112"),
        ("+442071234567", UK, "02071234567"),
        ("+390612345678", UK, "00390612345678"),
        ("02071234567", UK, "02071234567"),
        ("0044 20 7123 4567", UK, "02071234567"),
        ("999", UK, "999"),
        ("+390612345678", E164_ITALY, "+390612345678"),
        ("0612345678", E164_ITALY, "+390612345678"),
        ("0612345678", E164_BARE, "0612345678"),
        ("004420", E164_BARE, "004420"),
    ],
)
def test_for_trunk(number: str, trunk_: Trunk, expected: str) -> None:
    assert for_trunk(number, trunk_) == expected


def test_the_wrong_prefix_for_italy_drops_the_zero() -> None:
    """Why the docs tell Italian administrators to set national_prefix to ''."""
    wrong = trunk(number_format="national", country_code="39", national_prefix="0")
    assert to_e164("0612345678", wrong) == "+39612345678"


def test_national_form_and_is_e164() -> None:
    assert national_form("+442071234567", country_code="44", national_prefix="0") == "02071234567"
    assert national_form("anonymous", country_code="44", national_prefix="0") == "anonymous"
    assert is_e164("+12")
    assert not is_e164("+1")
    assert not is_e164("12345")
    assert normalise("+44 20 7123 4567", country_code=None, national_prefix="0") == "+442071234567"


_digits = st.text("0123456789", min_size=0, max_size=20)
_inputs = st.one_of(
    _digits,
    _digits.map(lambda d: "+" + d),
    _digits.map(lambda d: "00" + d),
    st.text("0123456789+ -().abc*#", max_size=20),
)
_trunks = st.sampled_from([ITALY, UK, E164_ITALY, E164_BARE])


@fast
@given(_inputs, _trunks)
def test_to_e164_is_e164_or_unchanged_and_idempotent(number: str, trunk_: Trunk) -> None:
    result = to_e164(number, trunk_)
    assert is_e164(result) or result == number
    assert to_e164(result, trunk_) == result


@fast
@given(_inputs, _trunks)
def test_short_numbers_are_never_rewritten(number: str, trunk_: Trunk) -> None:
    if number.isdigit() and len(number) <= SHORT_NUMBER_MAX_DIGITS:
        assert to_e164(number, trunk_) == number
        assert for_trunk(number, trunk_) == number


_first = st.sampled_from("123456789")
_rest = st.text("0123456789", min_size=6, max_size=10)


@fast
@given(_first, _rest)
def test_uk_national_numbers_round_trip(first: str, rest: str) -> None:
    national = "0" + first + rest
    e164 = to_e164(national, UK)
    assert e164 == "+44" + first + rest
    assert for_trunk(e164, UK) == national


@fast
@given(st.sampled_from(["0", "3"]), _first, _rest)
def test_italian_numbers_round_trip(lead: str, second: str, rest: str) -> None:
    national = lead + second + rest  # fixed (0...) and mobile (3...) numbers
    e164 = to_e164(national, ITALY)
    assert e164 == "+39" + national
    assert for_trunk(e164, ITALY) == national
    assert for_trunk(national, E164_ITALY) == e164


@fast
@given(st.sampled_from(["1", "33", "49", "39", "44"]), _first, _rest, _trunks)
def test_e164_numbers_round_trip_through_every_trunk(
    country: str, first: str, rest: str, trunk_: Trunk
) -> None:
    e164 = f"+{country}{first}{rest}"
    sent = for_trunk(e164, trunk_)
    assert to_e164(sent, trunk_) == e164
    assert sent.startswith("+") == (trunk_.number_format == "e164")


def test_the_docstring_examples_hold() -> None:
    for module in (numbers, outbound):
        result = doctest.testmod(module)
        assert result.attempted > 0
        assert result.failed == 0
