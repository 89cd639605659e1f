"""Invariants of the routing engine over random extensions, states and times."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from centralino.domain.forwarding import Status
from centralino.routing import (
    MAX_FORWARDS,
    MAX_PLANS,
    CallOrigin,
    EndCall,
    Forward,
    RingExtension,
    RoutingPlan,
    Rule,
    SipStatus,
    SkipExtension,
    caller_matches,
    judge_window,
    lookup_in,
    plan_call,
)

from .strategies import Scenario, destinations, forwardings, forwards, scenarios

PROFILE_RULES = {Rule.STATUS, Rule.REGISTRATION, Rule.BUSY, Rule.NO_ANSWER}
fast = settings(max_examples=60, deadline=None)


def route(scenario: Scenario) -> RoutingPlan:
    return plan_call(scenario.call, scenario.callee, lookup_in(scenario.directory))


def walk(
    plan: RoutingPlan, chain: tuple[str, ...] = ()
) -> Iterator[tuple[RoutingPlan, tuple[str, ...]]]:
    """Every plan of the tree with the chain of extensions leading to it."""
    chain = (*chain, plan.extension)
    yield plan, chain
    for step in _own_steps(plan):
        if isinstance(step, Forward):
            yield from walk(step.plan, chain)


def _own_steps(plan: RoutingPlan) -> list[Any]:
    first = plan.first
    if isinstance(first, RingExtension):
        return [first, first.on_no_answer, first.on_busy, first.on_not_registered]
    return [first]


def rung(plan: RoutingPlan) -> set[str]:
    return {step.number for step in plan.steps() if isinstance(step, RingExtension)}


def first_matching(scenario: Scenario) -> int | None:
    callee, call = scenario.callee, scenario.call
    for index, exception in enumerate(callee.extension.forwarding.exceptions, start=1):
        window = judge_window(exception.window, callee.office_hours, call.at)
        if caller_matches(exception.caller_id, call.caller) and window.holds:
            return index
    return None


def direct(scenario: Scenario) -> bool:
    """A direct call (no ring group) to an enabled extension."""
    return not scenario.call.from_ring_group and not scenario.callee.extension.options.disabled


@fast
@given(scenarios(from_ring_group=False))
def test_the_first_matching_exception_always_wins(scenario: Scenario) -> None:
    assume(direct(scenario))
    trace = route(scenario).trace
    winner = first_matching(scenario)
    exceptions = [entry for entry in trace if entry.rule is Rule.EXCEPTION]
    if winner is None:
        assert not any(entry.matched for entry in exceptions)
        assert len(exceptions) == len(scenario.callee.extension.forwarding.exceptions)
        return
    assert len(exceptions) == winner
    assert [entry.matched for entry in exceptions] == [False] * (winner - 1) + [True]
    assert not any(entry.rule in PROFILE_RULES for entry in trace)


@fast
@given(scenarios(from_ring_group=False), destinations())
def test_an_always_exception_for_the_caller_beats_the_profile(
    scenario: Scenario, destination: dict[str, Any]
) -> None:
    assume(direct(scenario))
    documents = copy.deepcopy(scenario.documents)
    exception = {"caller_id": scenario.call.caller, "destination": destination}
    documents[scenario.callee.number]["exceptions"].insert(0, exception)
    plan = route(scenario.rebuilt(documents))
    assert plan.trace[0].rule is Rule.EXCEPTION
    assert plan.trace[0].matched
    assert plan.trace[0].text.startswith(f"exception #1 (caller {scenario.call.caller}) matched")
    assert not any(entry.rule in PROFILE_RULES for entry in plan.trace)
    assert scenario.callee.number not in rung(plan)


@fast
@given(scenarios(from_ring_group=False))
def test_an_immediate_forward_status_never_rings_the_callee(scenario: Scenario) -> None:
    assume(scenario.callee.extension.forwarding.status is not Status.AVAILABLE)
    assert scenario.callee.number not in rung(route(scenario))


@settings(max_examples=120, deadline=None)
@given(scenarios(forwarding=forwardings(max_exceptions=1, target=forwards())))
def test_forwarding_chains_terminate_without_revisiting(scenario: Scenario) -> None:
    plan = route(scenario)
    for _, chain in walk(plan):
        assert len(chain) == len(set(chain))
        assert len(chain) - 1 <= MAX_FORWARDS
    assert sum(isinstance(step, Forward) for step in plan.steps()) <= MAX_PLANS


def swap_side(document: dict[str, Any], other: dict[str, Any], side: str) -> dict[str, Any]:
    """``document`` with the ``side`` destinations of every profile taken from ``other``."""
    mixed = copy.deepcopy(document)
    for status, profile in mixed["profiles"].items():
        profile[side] = copy.deepcopy(other["profiles"][status][side])
    return mixed


@fast
@given(scenarios(from_ring_group=False), st.data())
def test_internal_and_external_rules_never_cross(scenario: Scenario, data: st.DataObject) -> None:
    unused = "external" if scenario.call.origin is CallOrigin.INTERNAL else "internal"
    others = {n: data.draw(forwardings()) for n in scenario.documents}
    documents = {n: swap_side(d, others[n], unused) for n, d in scenario.documents.items()}
    assert route(scenario.rebuilt(documents)) == route(scenario)


@fast
@given(scenarios())
def test_the_plan_is_a_pure_function_of_its_inputs(scenario: Scenario) -> None:
    again = scenario.rebuilt(copy.deepcopy(scenario.documents))
    assert route(scenario) == route(scenario) == route(again)


@fast
@given(scenarios())
def test_a_disabled_extension_is_never_rung(scenario: Scenario) -> None:
    extras = copy.deepcopy(scenario.extras)
    extras[scenario.callee.number]["options"] = {"disabled": True}
    disabled = dataclasses.replace(scenario, extras=extras).rebuilt(scenario.documents)
    plan = route(disabled)
    assert isinstance(plan.first, EndCall | SkipExtension)
    assert not isinstance(plan.first, EndCall) or plan.first.sip_status is SipStatus.FORBIDDEN
    off = {n for n, c in disabled.directory.items() if c.extension.options.disabled}
    assert not rung(route(scenario)) & {
        n for n, c in scenario.directory.items() if c.extension.options.disabled
    }
    assert not rung(plan) & off


@fast
@given(scenarios(from_ring_group=True))
def test_ring_group_calls_ring_the_member_or_skip_it(scenario: Scenario) -> None:
    plan = route(scenario)
    assert not any(isinstance(step, Forward) for step in plan.steps())
    assert {getattr(step, "number", None) for step in plan.steps()} == {scenario.callee.number}


@fast
@given(scenarios(from_ring_group=False))
def test_a_ring_step_rings_for_the_available_seconds(scenario: Scenario) -> None:
    for plan, _ in walk(route(scenario)):
        if isinstance(plan.first, RingExtension):
            available = scenario.directory[plan.extension].extension.forwarding.profiles.available
            assert plan.first.seconds == available.no_answer_seconds
            assert plan.render().startswith(f"Extension {plan.extension}:")
