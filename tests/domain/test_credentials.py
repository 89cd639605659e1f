"""Generated SIP credentials and PINs: strong, well-formed, unique, repeatable."""

from __future__ import annotations

import random
import string

import pytest

from centralino.admin.validation import parse_model
from centralino.domain.credentials import (
    AUTH_ID_LENGTH,
    PASSWORD_LENGTH,
    PIN_LENGTH,
    CredentialGenerator,
)
from centralino.domain.extension import Extension

ROUNDS = 1000


@pytest.fixture(scope="module")
def generated() -> dict[str, list[str]]:
    generate = CredentialGenerator()
    return {
        "password": [generate.password() for _ in range(ROUNDS)],
        "auth_id": [generate.auth_id() for _ in range(ROUNDS)],
        "pin": [generate.pin() for _ in range(ROUNDS)],
    }


def test_password_is_twenty_letters_and_digits(generated: dict[str, list[str]]) -> None:
    allowed = set(string.ascii_letters + string.digits)
    for password in generated["password"]:
        assert len(password) == PASSWORD_LENGTH == 20
        assert set(password) <= allowed


def test_password_mixes_lower_upper_and_digits(generated: dict[str, list[str]]) -> None:
    for password in generated["password"]:
        assert any(ch.islower() for ch in password)
        assert any(ch.isupper() for ch in password)
        assert any(ch.isdigit() for ch in password)


def test_auth_id_starts_with_a_letter(generated: dict[str, list[str]]) -> None:
    allowed = set(string.ascii_lowercase + string.digits)
    for auth_id in generated["auth_id"]:
        assert len(auth_id) == AUTH_ID_LENGTH
        assert auth_id[0] in string.ascii_lowercase
        assert set(auth_id) <= allowed


def test_pin_is_digits_not_all_equal(generated: dict[str, list[str]]) -> None:
    for pin in generated["pin"]:
        assert len(pin) == PIN_LENGTH
        assert pin.isdigit()
        assert len(set(pin)) > 1


@pytest.mark.parametrize("kind", ["password", "auth_id"])
def test_thousand_generations_are_unique(generated: dict[str, list[str]], kind: str) -> None:
    assert len(set(generated[kind])) == ROUNDS


def test_generated_values_pass_the_model_rules(generated: dict[str, list[str]]) -> None:
    for auth_id, password, pin in zip(
        generated["auth_id"][:100], generated["password"][:100], generated["pin"][:100], strict=True
    ):
        parse_model(
            Extension,
            {
                "number": "100",
                "auth_id": auth_id,
                "auth_password": password,
                "voicemail": {"pin": pin},
            },
        )


def test_seeded_source_repeats_the_same_values() -> None:
    def run(seed: int) -> list[str]:
        generate = CredentialGenerator(random.Random(seed))
        return [generate.password(), generate.auth_id(), generate.pin(), generate.password()]

    assert run(7) == run(7)
    assert run(7) != run(8)


class _RiggedRandom(random.Random):
    """Returns scripted choices first, then behaves normally."""

    def __init__(self, script: str) -> None:
        super().__init__(0)
        self._script = list(script)

    def choice(self, seq):  # type: ignore[no-untyped-def,override]
        if self._script:
            return self._script.pop(0)
        return super().choice(seq)


def test_pin_with_one_repeated_digit_is_drawn_again() -> None:
    pin = CredentialGenerator(_RiggedRandom("111111")).pin()
    assert pin != "111111"
    assert len(set(pin)) > 1


def test_password_missing_a_character_class_is_drawn_again() -> None:
    password = CredentialGenerator(_RiggedRandom("a" * 20)).password()
    assert password != "a" * 20
    assert any(ch.isupper() for ch in password)
