"""The ``sip`` section of the system settings: the digest algorithms challenged with."""

from __future__ import annotations

from typing import Any

import pytest

from centralino.admin.validation import parse_model
from centralino.domain.errors import InvalidInput
from centralino.domain.settings import SipSettings, SystemSettings


def test_md5_only_by_default() -> None:
    assert SystemSettings().sip.digest_algorithms == ["MD5"]


@pytest.mark.parametrize("algorithms", [["SHA-256", "MD5"], ["MD5", "SHA-256"], ["SHA-256"]])
def test_the_order_is_kept(algorithms: list[str]) -> None:
    settings = parse_model(SystemSettings, {"sip": {"digest_algorithms": algorithms}})
    assert settings.sip.digest_algorithms == algorithms


def test_a_stored_document_round_trips() -> None:
    settings = SipSettings(digest_algorithms=["SHA-256", "MD5"])
    assert SipSettings.model_validate(settings.model_dump(mode="json")) == settings


@pytest.mark.parametrize(
    ("algorithms", "path", "reason"),
    [
        ([], "sip.digest_algorithms", "at least 1"),
        (["MD5", "MD5"], "sip.digest_algorithms", "listed twice"),
        (["SHA-256", "MD5", "SHA-256"], "sip.digest_algorithms", "listed twice"),
        (["SHA-1"], "sip.digest_algorithms.0", "'MD5' or 'SHA-256'"),
        (["MD5", "md5-sess"], "sip.digest_algorithms.1", "'MD5' or 'SHA-256'"),
        ("MD5", "sip.digest_algorithms", "list"),
    ],
)
def test_bad_algorithms_name_the_field(algorithms: Any, path: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model(SystemSettings, {"sip": {"digest_algorithms": algorithms}})
    [error] = caught.value.errors
    assert error.path == path
    assert reason in error.reason


def test_unknown_sip_fields_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_model(SystemSettings, {"sip": {"algorithms": ["MD5"]}})
    assert [error.path for error in caught.value.errors] == ["sip.algorithms"]
