"""Outbound routing: rules, trunks, caller ID, emergency numbers, failover; and inbound DIDs."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from centralino.domain.destination import ExtensionDestination, Voicemail
from centralino.domain.extension import Extension
from centralino.domain.settings import NumberingSettings
from centralino.domain.trunks import OutboundRule, Trunk
from centralino.routing.inbound import did_of, did_owners, route_did
from centralino.routing.outbound import (
    CallerIdSource,
    OutboundCheck,
    OutboundPlan,
    OutboundRefused,
    OutboundStatus,
    failover,
    groups_of,
    plan_outbound,
    rewrite,
    rule_order,
)

from .helpers import extension

fast = settings(max_examples=150, deadline=None)
NUMBERING = NumberingSettings()


def trunk(name: str, **fields: Any) -> Trunk:
    return Trunk.model_validate({"name": name, "host": f"{name}.example.net", **fields})


def rule(name: str, trunks: list[str], **fields: Any) -> OutboundRule:
    return OutboundRule.model_validate({"name": name, "trunks": trunks, **fields})


ALPHA = trunk("alpha", caller_id="+390200000000")
BETA = trunk("beta", number_format="national", country_code="39", national_prefix="")
GAMMA = trunk("gamma", caller_id="+390300000000", max_calls=2)
TRUNKS = [ALPHA, BETA, GAMMA]


def plan(
    dialled: str,
    caller: Extension | None = None,
    rules: Iterable[OutboundRule] = (),
    trunks: Iterable[Trunk] = TRUNKS,
    *,
    down: Collection[str] = (),
    full: Collection[str] = (),
    groups: Collection[str] | None = None,
    presented: str | None = None,
) -> OutboundPlan | OutboundRefused:
    caller = caller or extension()
    return plan_outbound(
        dialled,
        caller,
        groups_of(caller) if groups is None else groups,
        list(rules),
        list(trunks),
        settings=NUMBERING,
        is_up=lambda name: name not in down,
        has_capacity=lambda name: name not in full,
        presented=presented,
    )


def planned(result: OutboundPlan | OutboundRefused) -> OutboundPlan:
    assert isinstance(result, OutboundPlan), result
    return result


def refused(result: OutboundPlan | OutboundRefused) -> OutboundRefused:
    assert isinstance(result, OutboundRefused), result
    return result


EVERYTHING = rule("everything", ["alpha", "beta"], prefix="", priority=500)
ITALY = rule("italy", ["beta", "alpha"], prefix="0", min_length=6, max_length=12, priority=10)


# --- rule matching -----------------------------------------------------------


def test_the_first_matching_rule_by_priority_decides() -> None:
    result = planned(plan("0612345678", rules=[EVERYTHING, ITALY]))
    assert result.rule == "italy"
    assert [a.trunk for a in result.attempts] == ["beta", "alpha"]
    assert result.emergency is False


def test_numbers_are_written_in_each_trunks_format() -> None:
    result = planned(plan("0612345678", rules=[ITALY]))
    by_trunk = {a.trunk: a.number for a in result.attempts}
    assert by_trunk == {"beta": "0612345678", "alpha": "0612345678"}
    plus = rule("plus", ["beta", "alpha"], prefix="+")
    by_trunk = {a.trunk: a.number for a in planned(plan("+390612345678", rules=[plus])).attempts}
    assert by_trunk == {"beta": "0612345678", "alpha": "+390612345678"}


def test_strip_and_prepend_rewrite_the_number() -> None:
    outside_line = rule("outside", ["alpha"], prefix="90", strip=2, prepend="+4420")
    result = planned(plan("907123456", rules=[outside_line]))
    assert result.attempts[0].number == "+44207123456"
    assert rewrite("+390612345678", rule("r", ["a"], prefix="+39", strip=2)) == "0612345678"
    assert rewrite("0612345678", rule("r", ["a"])) == "0612345678"


def test_priority_ties_are_broken_by_name() -> None:
    rules = [rule("zulu", ["alpha"], priority=5), rule("alpha", ["beta"], priority=5)]
    assert [r.name for r in rule_order(rules)] == ["alpha", "zulu"]
    assert planned(plan("0612345678", rules=rules)).rule == "alpha"


@pytest.mark.parametrize(
    ("dialled", "why"),
    [
        ("3351234567", "wants the prefix '0'"),
        ("01234", "wants at least 6 digits, 01234 has 5"),
        ("0123456789012", "wants at most 12 digits, 0123456789012 has 13"),
    ],
)
def test_a_number_no_rule_matches_is_refused_404(dialled: str, why: str) -> None:
    result = refused(plan(dialled, rules=[ITALY]))
    assert result.status is OutboundStatus.NOT_FOUND
    assert result.reason == f"No route for {dialled}"
    assert result.trace[-1].text == f"rule 'italy' {why}"
    assert result.trace[-1].matched is False


def test_lengths_count_digits_not_the_plus() -> None:
    exact = rule("exact", ["alpha"], prefix="+", min_length=12, max_length=12)
    assert planned(plan("+390612345678", rules=[exact])).rule == "exact"


def test_disabled_rules_are_passed_over() -> None:
    off = rule("off", ["gamma"], priority=1, enabled=False)
    result = planned(plan("0612345678", rules=[off, ITALY]))
    assert result.rule == "italy"
    assert result.trace[0].text == "rule 'off' is disabled"


def test_callers_and_groups_restrict_a_rule() -> None:
    sales = extension("101", rights=[{"group": "Sales"}])
    other = extension("102")
    only = rule("sales-only", ["gamma"], priority=1, callers=["105"], groups=["Sales"])
    assert planned(plan("0612345678", sales, [only, ITALY])).rule == "sales-only"
    result = planned(plan("0612345678", other, [only, ITALY]))
    assert result.rule == "italy"
    assert "is not for extension 102" in result.trace[0].text
    by_number = rule("by-number", ["gamma"], priority=1, callers=["102"])
    assert planned(plan("0612345678", other, [by_number, ITALY])).rule == "by-number"


def test_a_rule_stripping_everything_does_not_match() -> None:
    greedy = rule("greedy", ["alpha"], prefix="06", strip=2, priority=1)
    result = planned(plan("06", rules=[greedy, EVERYTHING]))
    assert result.rule == "everything"
    assert result.trace[0].text == "rule 'greedy' would strip all of 06"


@pytest.mark.parametrize("dialled", ["", "abc", "06 1234", "+", "*31", "1" * 33, "06\r\nX"])
def test_what_is_not_a_number_is_refused_without_echoing_it(dialled: str) -> None:
    result = refused(plan(dialled, rules=[EVERYTHING]))
    assert result.status is OutboundStatus.NOT_FOUND
    assert result.reason == "Not a phone number"


# --- trunks ------------------------------------------------------------------


def test_down_full_disabled_and_missing_trunks_are_skipped_and_said() -> None:
    off = trunk("delta", enabled=False)
    rules = [rule("all", ["ghost", "delta", "alpha", "gamma", "beta"])]
    result = planned(
        plan("0612345678", rules=rules, trunks=[*TRUNKS, off], down={"alpha"}, full={"gamma"})
    )
    assert [a.trunk for a in result.attempts] == ["beta"]
    skipped = [e.text for e in result.trace if e.check is OutboundCheck.TRUNK and not e.matched]
    assert skipped == [
        "trunk ghost does not exist: skipped",
        "trunk delta is disabled: skipped",
        "trunk alpha is down: skipped",
        "trunk gamma is full (max_calls): skipped",
    ]


def test_no_trunk_left_is_503() -> None:
    result = refused(plan("0612345678", rules=[ITALY], down={"alpha", "beta"}))
    assert result.status is OutboundStatus.SERVICE_UNAVAILABLE
    assert result.reason == "No trunk available"
    assert "Outbound: refused 503 No trunk available" in result.render()


def test_the_first_matching_rule_decides_even_when_its_trunks_are_down() -> None:
    result = refused(plan("0612345678", rules=[ITALY, EVERYTHING], down={"alpha", "beta"}))
    assert result.status is OutboundStatus.SERVICE_UNAVAILABLE


# --- caller ID -----------------------------------------------------------------


def test_caller_id_precedence_extension_then_rule_then_trunk() -> None:
    own = extension("101", outbound_caller_id="+390611111111")
    with_rule = rule("r", ["alpha", "beta", "gamma"], caller_id="+390622222222")
    without = rule("r", ["alpha", "beta", "gamma"])
    attempts = planned(plan("0612345678", own, [with_rule])).attempts
    assert [(a.caller_id, a.caller_id_source) for a in attempts] == [
        ("+390611111111", CallerIdSource.EXTENSION),
        ("0611111111", CallerIdSource.EXTENSION),  # beta writes national numbers
        ("+390611111111", CallerIdSource.EXTENSION),
    ]
    attempts = planned(plan("0612345678", rules=[with_rule])).attempts
    assert {a.caller_id_source for a in attempts} == {CallerIdSource.RULE}
    attempts = planned(plan("0612345678", rules=[without])).attempts
    assert [(a.caller_id, a.caller_id_source) for a in attempts] == [
        ("+390200000000", CallerIdSource.TRUNK),
        (None, CallerIdSource.NONE),
        ("+390300000000", CallerIdSource.TRUNK),
    ]


def test_a_forwarded_call_carries_the_original_caller_in_the_trunks_format() -> None:
    result = planned(plan("0612345678", rules=[ITALY], presented="+390655555555"))
    assert [(a.trunk, a.presented) for a in result.attempts] == [
        ("beta", "0655555555"),
        ("alpha", "+390655555555"),
    ]
    anonymous = planned(plan("0612345678", rules=[ITALY], presented="anonymous"))
    assert {a.presented for a in anonymous.attempts} == {None}


# --- emergency -------------------------------------------------------------------


def test_emergency_without_a_rule_uses_every_trunk_up_in_name_order() -> None:
    result = planned(plan("112", down={"beta"}))
    assert result.emergency is True
    assert result.rule is None
    assert [a.trunk for a in result.attempts] == ["alpha", "gamma", "beta"]  # beta last: down
    assert [a.number for a in result.attempts] == ["112", "112", "112"]
    assert "trunk beta is down: tried last (emergency)" in result.render()


def test_emergency_ignores_max_calls_and_the_rules_callers() -> None:
    result = planned(plan("112", full={"alpha", "beta", "gamma"}))
    assert [a.trunk for a in result.attempts] == ["alpha", "beta", "gamma"]
    sales_only = rule("sales", ["gamma"], callers=["105"])
    result = planned(plan("113", rules=[sales_only]))
    assert result.rule is None
    assert len(result.attempts) == 3


def test_emergency_matching_a_rule_tries_its_trunks_first_then_the_others() -> None:
    service = rule("service", ["gamma"], prefix="11", max_length=3, prepend="")
    result = planned(plan("112", rules=[service]))
    assert result.rule == "service"
    assert [a.trunk for a in result.attempts] == ["gamma", "alpha", "beta"]


def test_emergency_uses_the_extensions_caller_id_never_the_rules() -> None:
    with_rule = rule("r", ["alpha", "beta"], caller_id="+390622222222")
    has_did = extension("101", dids=["+390612340101"])
    attempts = planned(plan("112", has_did, [with_rule])).attempts
    assert [(a.caller_id, a.caller_id_source) for a in attempts[:2]] == [
        ("+390612340101", CallerIdSource.DID),
        ("0612340101", CallerIdSource.DID),
    ]
    own = extension("101", dids=["+390612340101"], outbound_caller_id="+390611111111")
    assert planned(plan("112", own, [with_rule])).attempts[0].caller_id_source is (
        CallerIdSource.EXTENSION
    )
    bare = planned(plan("112", extension(), [with_rule])).attempts
    assert [a.caller_id_source for a in bare[:2]] == [CallerIdSource.TRUNK, CallerIdSource.NONE]


def test_emergency_is_refused_only_without_any_enabled_trunk() -> None:
    result = refused(plan("112", trunks=[trunk("off", enabled=False)]))
    assert result.status is OutboundStatus.SERVICE_UNAVAILABLE
    assert not isinstance(plan("112", down={"alpha", "beta", "gamma"}), OutboundRefused)


def test_only_exact_emergency_numbers_count() -> None:
    assert isinstance(plan("1120"), OutboundRefused)
    assert isinstance(plan("+112"), OutboundRefused)


# --- failover --------------------------------------------------------------------


@pytest.mark.parametrize("status", [None, 408, 401, 407, 500, 502, 503, 504, 580])
def test_failover_on_trunk_faults(status: int | None) -> None:
    assert failover(status) is True


@pytest.mark.parametrize("status", [300, 302, 403, 404, 480, 484, 486, 487, 488, 603, 600, 699])
def test_no_failover_when_the_answer_speaks_for_the_number(status: int) -> None:
    assert failover(status) is False


@pytest.mark.parametrize("status", [100, 180, 200, 299, 700])
def test_failover_refuses_what_is_no_failure(status: int) -> None:
    with pytest.raises(ValueError, match="not a final failure"):
        failover(status)


# --- properties ---------------------------------------------------------------------

_names = ["alpha", "beta", "gamma", "delta"]
_trunk_pool = {
    "alpha": ALPHA,
    "beta": BETA,
    "gamma": GAMMA,
    "delta": trunk("delta", number_format="national", country_code="44"),
}
_rules = st.lists(
    st.builds(
        lambda index, priority, prefix, trunks, enabled, callers, low: rule(
            f"r{index}",
            trunks,
            priority=priority,
            prefix=prefix,
            enabled=enabled,
            callers=callers,
            min_length=low,
        ),
        st.integers(0, 99),
        st.integers(0, 3),
        st.sampled_from(["", "0", "06", "3", "+", "+39", "1"]),
        st.lists(st.sampled_from([*_names, "ghost"]), min_size=1, max_size=4, unique=True),
        st.booleans(),
        st.sampled_from([[], ["101"], ["102"]]),
        st.sampled_from([None, 3, 8]),
    ),
    max_size=6,
    unique_by=lambda r: r.name,
)
_dialled = st.sampled_from(["0612345678", "3351234567", "+390612345678", "112", "911", "06", "1"])
_subsets = st.sets(st.sampled_from(_names))


def _reference_rule(rules: list[OutboundRule], dialled: str, caller: str) -> str | None:
    """The rule the module docstring says is taken, by brute force."""
    digits = len(dialled.lstrip("+"))
    for candidate in sorted(rules, key=lambda r: (r.priority, r.name)):
        fits = (
            candidate.enabled
            and dialled.startswith(candidate.prefix)
            and (candidate.min_length is None or digits >= candidate.min_length)
            and (not candidate.callers or caller in candidate.callers)
            and digits > candidate.strip
        )
        if fits:
            return candidate.name
    return None


@fast
@given(_rules, _dialled, _subsets, _subsets, _subsets, st.sampled_from(["101", "102"]))
def test_plans_follow_the_rules(
    rules: list[OutboundRule],
    dialled: str,
    enabled: set[str],
    down: set[str],
    full: set[str],
    caller_number: str,
) -> None:
    trunks = [_trunk_pool[name].model_copy(update={"enabled": name in enabled}) for name in _names]
    result = plan(dialled, extension(caller_number), rules, trunks, down=down, full=full)
    emergency = dialled in NUMBERING.emergency_numbers
    expected_rule = _reference_rule(rules, dialled, caller_number)
    usable = enabled if emergency else enabled - down - full
    if isinstance(result, OutboundRefused):
        if expected_rule is None and not emergency:
            assert result.status is OutboundStatus.NOT_FOUND
        else:
            assert result.status is OutboundStatus.SERVICE_UNAVAILABLE
            if emergency:
                assert not enabled  # emergency: refused only when no trunk is enabled
            else:
                chosen = next(r for r in rules if r.name == expected_rule)
                assert not usable & set(chosen.trunks)
        return
    assert result.rule == expected_rule
    assert result.emergency is emergency
    names = [a.trunk for a in result.attempts]
    assert len(names) == len(set(names))
    assert set(names) <= usable
    if emergency:
        assert set(names) == enabled
        up_first = [name not in down for name in names]
        assert up_first == sorted(up_first, reverse=True)
    else:
        chosen = next(r for r in rules if r.name == expected_rule)
        assert names == [name for name in chosen.trunks if name in usable]


@fast
@given(_subsets, _subsets, st.sampled_from(NUMBERING.emergency_numbers), _rules)
def test_emergency_is_always_planned_when_a_trunk_is_up(
    enabled: set[str], down: set[str], number: str, rules: list[OutboundRule]
) -> None:
    trunks = [_trunk_pool[name].model_copy(update={"enabled": name in enabled}) for name in _names]
    result = plan(number, extension(), rules, trunks, down=down, full=set(_names))
    if enabled - down:
        result = planned(result)
        assert result.attempts[0].trunk in enabled - down
        assert result.emergency


# --- inbound -----------------------------------------------------------------------


def test_did_is_taken_from_where_the_trunk_puts_it_and_normalised() -> None:
    uk_to = trunk("uk", number_format="national", country_code="44", did_source="to")
    assert did_of(uk_to, "s", "02071234567") == "+442071234567"
    assert did_of(BETA, "0612340101;npdi", "ignored") == "+390612340101"
    assert did_of(ALPHA, "+390612340101", "x") == "+390612340101"


def test_route_did_to_its_owner_else_the_default_else_nowhere() -> None:
    owners = did_owners([extension("101", dids=["+390612340101"]), extension("102")])
    assert owners == {"+390612340101": "101"}
    owned = route_did("+390612340101", owners, ALPHA)
    assert owned.destination == ExtensionDestination(number="101")
    assert owned.owner == "101"
    with_default = trunk("d", default_destination={"type": "voicemail"})
    unknown = route_did("+390699999999", owners, with_default)
    assert unknown.destination == Voicemail()
    assert unknown.owner is None
    assert "default destination of trunk d (voicemail)" in unknown.text
    nowhere = route_did("+390699999999", owners, ALPHA)
    assert nowhere.destination is None
    assert "has no default destination" in nowhere.text


def test_a_trunk_listing_its_dids_carries_no_call_to_another_number() -> None:
    owners = {"+390612340101": "101", "+390612340102": "102"}
    listed = trunk("listed", dids=["+390612340101"], default_destination={"type": "voicemail"})
    assert route_did("+390612340101", owners, listed).owner == "101"
    refused = route_did("+390612340102", owners, listed)  # 102's, but not this trunk's
    assert refused.destination is None
    assert refused.owner is None
    assert "not one of trunk listed's numbers" in refused.text
