"""Outbound restrictions (SPEC §2.6) and the PIN unlock's deadlines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centralino.domain.extension import Extension
from centralino.domain.office_hours import OfficeHours
from centralino.routing.restrictions import (
    OutboundUnlock,
    Refusal,
    RefusalReason,
    office_is_open,
    outbound_refusal,
)

from .helpers import extension, rome

fast = settings(max_examples=200, deadline=None)
NOW = rome("2026-12-01 10:05")


def restricted(**options: bool) -> Extension:
    return extension("101", options=options)


def refusal(ext: Extension, **fields: Any) -> Refusal | None:
    arguments: dict[str, Any] = {
        "emergency": False,
        "now": NOW,
        "in_office_hours": True,
        "unlocked_until": None,
    }
    return outbound_refusal(ext, **(arguments | fields))


def test_an_unrestricted_extension_may_call_out() -> None:
    assert refusal(extension()) is None
    assert refusal(extension(), in_office_hours=False) is None


def test_external_calls_disabled() -> None:
    result = refusal(restricted(external_calls_disabled=True))
    assert result == Refusal(
        reason=RefusalReason.EXTERNAL_CALLS_DISABLED, phrase="External calls disabled"
    )
    assert result.status == 403
    assert result.prompt == "external-calls-disabled"


def test_outside_office_hours() -> None:
    ext = restricted(block_outbound_outside_office_hours=True)
    assert refusal(ext) is None
    result = refusal(ext, in_office_hours=False)
    assert result is not None
    assert (result.status, result.phrase, result.prompt) == (
        403,
        "Outside office hours",
        "outside-office-hours",
    )


def test_pin_required_names_the_configured_code_until_unlocked() -> None:
    ext = restricted(pin_protected=True)
    result = refusal(ext, unlock_code="*77")
    assert result is not None
    assert result.phrase == "PIN required: dial *77 then your PIN and #"
    assert result.prompt == "pin-required"
    default = refusal(ext)
    assert default is not None
    assert default.phrase == "PIN required: dial 777 then your PIN and #"
    later = NOW + dt.timedelta(minutes=1)
    assert refusal(ext, unlocked_until=later) is None
    assert refusal(ext, unlocked_until=NOW) is not None  # the deadline itself is locked


def test_precedence_disabled_then_office_hours_then_pin() -> None:
    every = restricted(
        external_calls_disabled=True, pin_protected=True, block_outbound_outside_office_hours=True
    )
    first = refusal(every, in_office_hours=False)
    assert first is not None
    assert first.reason is RefusalReason.EXTERNAL_CALLS_DISABLED
    hours_and_pin = restricted(pin_protected=True, block_outbound_outside_office_hours=True)
    second = refusal(hours_and_pin, in_office_hours=False)
    assert second is not None
    assert second.reason is RefusalReason.OUTSIDE_OFFICE_HOURS
    third = refusal(hours_and_pin, in_office_hours=True)
    assert third is not None
    assert third.reason is RefusalReason.PIN_REQUIRED
    # An unlock does not lift the office-hours block.
    unlocked = NOW + dt.timedelta(minutes=5)
    fourth = refusal(hours_and_pin, in_office_hours=False, unlocked_until=unlocked)
    assert fourth is not None
    assert fourth.reason is RefusalReason.OUTSIDE_OFFICE_HOURS


def test_naive_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="now must be an aware datetime"):
        refusal(extension(), now=dt.datetime(2026, 12, 1, 10, 5))
    with pytest.raises(ValueError, match="unlocked_until must be an aware"):
        refusal(extension(), unlocked_until=dt.datetime(2026, 12, 1, 10, 5))


def test_office_is_open_follows_the_schedule_and_breaks_count_as_outside() -> None:
    schedule = OfficeHours()
    assert office_is_open(schedule, rome("2026-12-01 10:05")) is True
    assert office_is_open(schedule, rome("2026-12-01 13:30")) is False  # break
    assert office_is_open(schedule, rome("2026-12-01 19:00")) is False
    assert office_is_open(schedule, rome("2026-12-05 10:05")) is False  # Saturday


@fast
@given(
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.one_of(st.none(), st.integers(-30, 30)),
)
def test_emergency_bypasses_everything_and_each_refusal_has_its_cause(
    disabled: bool, pin: bool, hours_block: bool, in_hours: bool, unlock_offset: int | None
) -> None:
    ext = restricted(
        external_calls_disabled=disabled,
        pin_protected=pin,
        block_outbound_outside_office_hours=hours_block,
    )
    until = None if unlock_offset is None else NOW + dt.timedelta(minutes=unlock_offset)
    fields = {"in_office_hours": in_hours, "unlocked_until": until}
    assert refusal(ext, emergency=True, **fields) is None
    result = refusal(ext, **fields)
    unlocked = until is not None and until > NOW
    causes = [
        (disabled, RefusalReason.EXTERNAL_CALLS_DISABLED),
        (hours_block and not in_hours, RefusalReason.OUTSIDE_OFFICE_HOURS),
        (pin and not unlocked, RefusalReason.PIN_REQUIRED),
    ]
    expected = next((reason for holds, reason in causes if holds), None)
    assert (result.reason if result else None) is expected
    if result is not None:
        assert result.status == 403
        assert result.phrase  # a reason phrase for the SIP answer and the log


# --- the PIN unlock ---------------------------------------------------------------


def test_an_unlock_lasts_its_minutes_then_expires() -> None:
    unlocks = OutboundUnlock()
    until = unlocks.unlock("101", NOW, 10)
    assert until == NOW + dt.timedelta(minutes=10)
    assert unlocks.unlocked_until("101", NOW + dt.timedelta(minutes=9)) == until
    assert unlocks.unlocked_until("102", NOW) is None
    assert unlocks.unlocked_until("101", until) is None
    assert len(unlocks) == 0  # dropped once seen expired


def test_a_new_unlock_starts_the_period_again_and_lock_ends_it() -> None:
    unlocks = OutboundUnlock()
    unlocks.unlock("101", NOW, 10)
    later = unlocks.unlock("101", NOW + dt.timedelta(minutes=8), 10)
    assert unlocks.unlocked_until("101", NOW + dt.timedelta(minutes=12)) == later
    unlocks.lock("101")
    assert unlocks.unlocked_until("101", NOW) is None
    unlocks.lock("101")  # nothing to end: no error


def test_expire_and_next_expiry() -> None:
    unlocks = OutboundUnlock()
    assert unlocks.next_expiry() is None
    unlocks.unlock("101", NOW, 5)
    unlocks.unlock("102", NOW, 1)
    unlocks.unlock("103", NOW, 30)
    assert unlocks.next_expiry() == NOW + dt.timedelta(minutes=1)
    assert unlocks.expire(NOW + dt.timedelta(minutes=5)) == ["101", "102"]
    assert unlocks.next_expiry() == NOW + dt.timedelta(minutes=30)
    assert len(unlocks) == 1


def test_unlock_refuses_bad_input() -> None:
    unlocks = OutboundUnlock()
    with pytest.raises(ValueError, match="minutes must be at least 1"):
        unlocks.unlock("101", NOW, 0)
    with pytest.raises(ValueError, match="now must be an aware"):
        unlocks.unlock("101", dt.datetime(2026, 12, 1), 10)
    assert len(unlocks) == 0


def test_the_unlock_feeds_the_restriction() -> None:
    unlocks = OutboundUnlock()
    ext = restricted(pin_protected=True)
    assert refusal(ext, unlocked_until=unlocks.unlocked_until("101", NOW)) is not None
    unlocks.unlock("101", NOW, 10)
    soon = NOW + dt.timedelta(minutes=3)
    assert refusal(ext, now=soon, unlocked_until=unlocks.unlocked_until("101", soon)) is None
    late = NOW + dt.timedelta(minutes=10)
    assert refusal(ext, now=late, unlocked_until=unlocks.unlocked_until("101", late)) is not None


@fast
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["unlock", "lock", "expire", "ask"]),
            st.sampled_from(["101", "102", "103"]),
            st.integers(0, 40),
            st.integers(1, 15),
        ),
        max_size=30,
    )
)
def test_unlocks_match_a_model(operations: list[tuple[str, str, int, int]]) -> None:
    """Against a dict of deadlines, with time moving forward only."""
    unlocks = OutboundUnlock()
    model: dict[str, dt.datetime] = {}
    now = NOW
    for action, number, step, minutes in operations:
        now += dt.timedelta(minutes=step)
        if action == "unlock":
            model[number] = unlocks.unlock(number, now, minutes)
            assert model[number] == now + dt.timedelta(minutes=minutes)
        elif action == "lock":
            unlocks.lock(number)
            model.pop(number, None)
        elif action == "expire":
            ended = unlocks.expire(now)
            assert ended == sorted(n for n, until in model.items() if now >= until)
            model = {n: until for n, until in model.items() if now < until}
        expected = model.get(number) if number in model and now < model[number] else None
        assert unlocks.unlocked_until(number, now) == expected
        if expected is None:
            model.pop(number, None)  # asked once expired: dropped
        assert unlocks.next_expiry() == min(model.values(), default=None)
        assert len(unlocks) == len(model)
