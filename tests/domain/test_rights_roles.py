"""A group role gives its usual permissions unless they are given."""

from __future__ import annotations

from centralino.domain.rights import GroupRight, Permissions, Role


def test_a_manager_gets_manager_permissions_by_default() -> None:
    right = GroupRight.model_validate({"group": "sales", "role": "manager"})
    assert right.permissions == Permissions.for_role(Role.MANAGER)
    assert right.permissions.operate_calls


def test_a_user_gets_user_permissions_by_default() -> None:
    right = GroupRight.model_validate({"group": "sales"})
    assert right.permissions == Permissions.for_role(Role.USER)
    assert not right.permissions.operate_calls


def test_given_permissions_win_over_the_role() -> None:
    document = {"group": "sales", "role": "manager", "permissions": {"barge_in": False}}
    right = GroupRight.model_validate(document)
    assert not right.permissions.barge_in
    assert right.permissions.operate_calls  # the rest still follows the role


def test_a_stored_right_round_trips_unchanged() -> None:
    document = {"group": "sales", "role": "manager", "permissions": {"barge_in": False}}
    right = GroupRight.model_validate(document)
    assert GroupRight.model_validate(right.model_dump(mode="json")) == right
