"""The shipped voice prompts and the sentences Prompts composes."""

from __future__ import annotations

import datetime as dt
import tomllib
import zoneinfo
from importlib import resources

import pytest

from centralino.media.pcm import duration_of
from centralino.media.wav import WavEncoding, inspect_wav
from centralino.telephony.apps.prompts import Prompts

ROME = zoneinfo.ZoneInfo("Europe/Rome")


def _folder() -> resources.abc.Traversable:
    return resources.files("centralino.telephony.apps").joinpath("prompts")


def _table() -> dict[str, str]:
    table = tomllib.loads(_folder().joinpath("prompts.toml").read_text(encoding="utf-8"))
    prompts: dict[str, str] = table["prompts"]
    return prompts


@pytest.fixture(scope="module")
def named() -> Prompts:
    """Prompts whose PCM is their name, so compositions read back as names."""
    return Prompts({name: name.encode() for name in Prompts.load().names})


def names(buffers: list[bytes]) -> list[str]:
    return [buffer.decode() for buffer in buffers]


def test_every_prompt_of_the_table_ships_as_a_small_8khz_mono_16bit_wav() -> None:
    for name in _table():
        data = _folder().joinpath(f"{name}.wav").read_bytes()
        wav_format, raw = inspect_wav(data)
        assert (wav_format.sample_rate, wav_format.channels) == (8000, 1), name
        assert (wav_format.encoding, wav_format.sample_width) == (WavEncoding.PCM, 2), name
        assert 0.1 < wav_format.duration < 10, name
        assert any(raw), name


def test_no_wav_is_left_over_from_an_older_table() -> None:
    shipped = {item.name[:-4] for item in _folder().iterdir() if item.name.endswith(".wav")}
    assert shipped == set(_table())


def test_load_reads_every_prompt_once_as_pcm() -> None:
    prompts = Prompts.load()
    assert prompts is Prompts.load()
    assert prompts.names == set(_table())
    for name in prompts.names:
        pcm = prompts.clip(name)
        assert pcm
        assert len(pcm) % 2 == 0
        assert duration_of(pcm) < 10
    # Silence is trimmed: a single word is short.
    assert duration_of(prompts.clip("7")) < 1.0


def test_an_unknown_prompt_is_named_in_the_error(named: Prompts) -> None:
    with pytest.raises(KeyError, match="no voice prompt named 'nope'"):
        named.clip("nope")


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, ["0"]),
        (7, ["7"]),
        (13, ["13"]),
        (19, ["19"]),
        (20, ["20"]),
        (42, ["40", "2"]),
        (59, ["50", "9"]),
        (99, ["90", "9"]),
        (100, ["1", "hundred"]),
        (305, ["3", "hundred", "5"]),
        (999, ["9", "hundred", "90", "9"]),
        (2026, ["2", "0", "2", "6"]),
    ],
)
def test_numbers_are_composed_from_words(named: Prompts, n: int, words: list[str]) -> None:
    assert names(named.number(n)) == words


def test_negative_numbers_are_refused(named: Prompts) -> None:
    with pytest.raises(ValueError, match="negative"):
        named.number(-1)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, ["ordinal-1"]),
        (12, ["ordinal-12"]),
        (20, ["ordinal-20"]),
        (21, ["20", "ordinal-1"]),
        (30, ["ordinal-30"]),
        (31, ["30", "ordinal-1"]),
    ],
)
def test_ordinals(named: Prompts, n: int, words: list[str]) -> None:
    assert names(named.ordinal(n)) == words


def test_digits_are_said_one_by_one_with_plus_star_pound(named: Prompts) -> None:
    assert names(named.digits("+39 06-12")) == ["plus", "3", "9", "0", "6", "1", "2"]
    assert names(named.digits("*98#")) == ["star", "9", "8", "pound"]
    assert named.digits("anonymous") == []


@pytest.mark.parametrize(
    ("moment", "words"),
    [
        (
            dt.datetime(2026, 12, 1, 10, 5, tzinfo=ROME),
            ["weekday-1", "month-12", "ordinal-1", "at", "10", "oh", "5", "am"],
        ),
        (
            dt.datetime(2026, 3, 22, 0, 0, tzinfo=ROME),
            ["weekday-6", "month-3", "20", "ordinal-2", "at", "12", "oclock", "am"],
        ),
        (
            dt.datetime(2026, 7, 31, 12, 45, tzinfo=ROME),
            ["weekday-4", "month-7", "30", "ordinal-1", "at", "12", "40", "5", "pm"],
        ),
        (
            dt.datetime(2026, 7, 31, 23, 10, tzinfo=ROME),
            ["weekday-4", "month-7", "30", "ordinal-1", "at", "11", "10", "pm"],
        ),
    ],
)
def test_date_time(named: Prompts, moment: dt.datetime, words: list[str]) -> None:
    assert names(named.date_time(moment, ROME)) == words


def test_date_time_is_said_in_the_given_zone(named: Prompts) -> None:
    utc = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    said = names(named.date_time(utc, ROME))
    assert said[:3] == ["weekday-4", "month-1", "ordinal-1"]
    assert said[4:] == ["12", "30", "am"]


def test_default_greeting_reads_the_extension(named: Prompts) -> None:
    assert names(named.default_greeting("101")) == [
        "person-at-extension",
        "1",
        "0",
        "1",
        "not-available",
    ]
