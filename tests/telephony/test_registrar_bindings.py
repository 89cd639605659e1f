"""The pure binding table: RFC 3261 §10.3 rules, expiry bounds, time."""

from __future__ import annotations

import datetime as dt

import pytest

from centralino.sip.uri import Uri
from centralino.telephony.bindings import (
    BindingTable,
    ContactRequest,
    ExpiryPolicy,
    RegisterRequest,
)
from tests.fakes import EPOCH

A = Uri.parse("sip:101@10.0.0.1:5060")
B = Uri.parse("sip:101@10.0.0.2:5060")


def _request(*contacts: ContactRequest, cseq: int = 1, call_id: str = "c1", **kw: object):
    fields: dict[str, object] = {
        "number": "101",
        "contacts": contacts,
        "call_id": call_id,
        "cseq": cseq,
        "transport": "udp",
        "host": "192.0.2.1",
        "port": 5060,
    }
    return RegisterRequest(**(fields | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("asked", "header", "granted"),
    [(None, None, 3600), (None, 120, 120), (300, 120, 300), (10_000, None, 3600), (0, 600, 0)],
)
def test_expiry_is_param_then_header_then_default_capped(
    asked: int | None, header: int | None, granted: int
) -> None:
    assert ExpiryPolicy().expiry_of(asked, header) == granted


@pytest.mark.parametrize(("seconds", "brief"), [(0, False), (1, True), (59, True), (60, False)])
def test_too_brief(seconds: int, brief: bool) -> None:
    assert ExpiryPolicy().too_brief(seconds) is brief


def test_new_contact_is_bound_until_its_expiry() -> None:
    table = BindingTable()
    outcome = table.apply(_request(ContactRequest(uri=A, expires=120)), EPOCH)
    assert outcome.status == 200
    [binding] = outcome.bindings
    assert binding.expires_at == EPOCH + dt.timedelta(seconds=120)
    assert table.current("101", EPOCH + dt.timedelta(seconds=119)) == [binding]
    assert table.current("101", EPOCH + dt.timedelta(seconds=120)) == []


def test_423_changes_nothing_even_when_another_contact_is_fine() -> None:
    table = BindingTable()
    outcome = table.apply(
        _request(ContactRequest(uri=A, expires=600), ContactRequest(uri=B, expires=5)), EPOCH
    )
    assert (outcome.status, outcome.min_expires) == (423, 60)
    assert table.current("101", EPOCH) == []


def test_same_call_id_lower_cseq_is_refused_500() -> None:
    table = BindingTable()
    table.apply(_request(ContactRequest(uri=A), cseq=5), EPOCH)
    outcome = table.apply(_request(ContactRequest(uri=A, expires=0), cseq=4), EPOCH)
    assert outcome.status == 500
    assert len(table.current("101", EPOCH)) == 1


def test_other_call_id_may_remove_with_any_cseq() -> None:
    table = BindingTable()
    table.apply(_request(ContactRequest(uri=A), cseq=5), EPOCH)
    outcome = table.apply(_request(ContactRequest(uri=A, expires=0), cseq=1, call_id="c2"), EPOCH)
    assert outcome.status == 200
    assert table.current("101", EPOCH) == []


def test_refresh_keeps_first_registration_time() -> None:
    table = BindingTable()
    table.apply(_request(ContactRequest(uri=A), cseq=1), EPOCH)
    later = EPOCH + dt.timedelta(minutes=30)
    [binding] = table.apply(_request(ContactRequest(uri=A), cseq=2), later).bindings
    assert binding.registered_at == EPOCH
    assert binding.expires_at == later + dt.timedelta(hours=1)


def test_equal_uris_by_rfc_rules_are_one_binding() -> None:
    table = BindingTable()
    table.apply(_request(ContactRequest(uri=Uri.parse("sip:101@EXAMPLE.com"))), EPOCH)
    outcome = table.apply(
        _request(ContactRequest(uri=Uri.parse("sip:101@example.COM")), cseq=2), EPOCH
    )
    assert len(outcome.bindings) == 1


def test_star_removes_all_but_needs_expires_zero() -> None:
    table = BindingTable()
    table.apply(_request(ContactRequest(uri=A), ContactRequest(uri=B)), EPOCH)
    assert table.apply(_request(remove_all=True, expires_header=30, cseq=2), EPOCH).status == 400
    assert table.apply(_request(remove_all=True, expires_header=0, cseq=2), EPOCH).status == 200
    assert table.current("101", EPOCH) == []


def test_query_lists_without_change() -> None:
    table = BindingTable()
    table.apply(_request(ContactRequest(uri=A)), EPOCH)
    outcome = table.apply(_request(cseq=2), EPOCH)
    assert (outcome.status, outcome.changed, len(outcome.bindings)) == (200, False, 1)


def test_too_many_contacts_is_403() -> None:
    table = BindingTable(ExpiryPolicy(max_contacts=1))
    outcome = table.apply(_request(ContactRequest(uri=A), ContactRequest(uri=B)), EPOCH)
    assert outcome.status == 403


def test_expire_reports_changed_numbers() -> None:
    table = BindingTable()
    table.apply(_request(ContactRequest(uri=A, expires=60)), EPOCH)
    table.apply(_request(ContactRequest(uri=B), number="102"), EPOCH)
    assert table.expire(EPOCH + dt.timedelta(seconds=61)) == ["101"]
    assert table.numbers() == ["102"]


def test_load_skips_expired_bindings() -> None:
    table = BindingTable()
    [binding] = table.apply(_request(ContactRequest(uri=A, expires=60)), EPOCH).bindings
    fresh = BindingTable()
    fresh.load([binding], EPOCH + dt.timedelta(seconds=61))
    assert fresh.numbers() == []
    fresh.load([binding], EPOCH)
    assert fresh.current("101", EPOCH) == [binding]


def test_a_refresh_is_told_apart_from_a_change() -> None:
    table = BindingTable()
    first = table.apply(_request(ContactRequest(uri=A, expires=120)), EPOCH)
    assert first.changed
    assert not first.refreshed  # a new contact
    later = EPOCH + dt.timedelta(seconds=60)
    again = table.apply(_request(ContactRequest(uri=A, expires=120), cseq=2), later)
    assert again.refreshed  # the same contact at the same address, expiring later
    moved = table.apply(_request(ContactRequest(uri=A, expires=120), cseq=3, port=5070), later)
    assert not moved.refreshed  # another source port: routing changes
    shorter = table.apply(_request(ContactRequest(uri=A, expires=60), cseq=4, port=5070), later)
    assert not shorter.refreshed  # expiring sooner than stored
    added = table.apply(_request(ContactRequest(uri=B, expires=120), cseq=5, port=5070), later)
    assert not added.refreshed
