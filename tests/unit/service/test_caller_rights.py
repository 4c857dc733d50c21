"""What a caller may do, from its grants (service/rights.py): levels, scopes, and the
answers that say which right is missing."""

from __future__ import annotations

import pytest

from tickwork.domain.enums import Right
from tickwork.domain.errors import Forbidden
from tickwork.domain.models import Permission
from tickwork.service.rights import SYSTEM, Caller, require, require_admin


def caller(*grants: tuple[str, str, Right]) -> Caller:
    return Caller(
        "K1", grants=tuple(Permission("K1", ns, group, right=right) for ns, group, right in grants)
    )


def test_each_right_includes_the_lesser_ones() -> None:
    runner = caller(("team", "g1", Right.RUN))
    assert runner.may(Right.READ, "team", "g1") and runner.may(Right.RUN, "team", "g1")
    assert not runner.may(Right.EDIT, "team", "g1")
    assert not runner.may(Right.MANAGE, "team", "g1")


def test_a_group_grant_covers_that_group_only() -> None:
    editor = caller(("team", "g1", Right.EDIT))
    assert editor.right_on("team", "g1") == Right.EDIT
    assert editor.right_on("team", "g2") is None
    assert editor.right_on("other", "g1") is None
    # a group grant is not a right on the whole namespace (new groups, its calendars)
    assert editor.right_on("team") is None
    assert editor.sees_namespace("team") and not editor.sees_namespace("other")


def test_a_namespace_grant_covers_every_group_and_the_highest_grant_counts() -> None:
    mixed = caller(("team", "", Right.READ), ("team", "g1", Right.MANAGE))
    assert mixed.right_on("team", "any") == Right.READ
    assert mixed.right_on("team", "g1") == Right.MANAGE
    assert mixed.right_on("team") == Right.READ


def test_scopes_list_where_the_caller_holds_a_right() -> None:
    mixed = caller(("team", "", Right.READ), ("ops", "g1", Right.RUN))
    assert mixed.scopes(Right.READ) == [("team", ""), ("ops", "g1")]
    assert mixed.scopes(Right.RUN) == [("ops", "g1")]
    assert caller().scopes() == []
    assert SYSTEM.scopes() is None  # an admin: everywhere


def test_admins_may_do_everything() -> None:
    admin = Caller("A1", is_admin=True)
    assert admin.may(Right.MANAGE, "anything", "at-all") and admin.may(Right.MANAGE, "x")
    require_admin(admin, "do it")
    with pytest.raises(Forbidden, match="only an admin access key may do it"):
        require_admin(caller(("team", "", Right.MANAGE)), "do it")


def test_refusals_say_what_is_held_and_what_is_needed() -> None:
    with pytest.raises(Forbidden) as no_right:
        require(caller(), Right.READ, "team", "g1")
    assert no_right.value.message == (
        "access key 'K1' has no right on app group 'g1' of namespace 'team'; to read it "
        "needs 'read'"
    )
    assert no_right.value.field == "group_id"
    with pytest.raises(Forbidden) as too_low:
        require(caller(("team", "g1", Right.READ)), Right.EDIT, "team", "g1")
    assert "holds only 'read'" in too_low.value.message
    assert "needs 'edit'" in too_low.value.message
    with pytest.raises(Forbidden) as whole:
        require(caller(("team", "g1", Right.MANAGE)), Right.EDIT, "team")
    assert whole.value.field == "namespace" and "namespace 'team'" in whole.value.message


def test_rights_have_wire_names() -> None:
    assert [r.wire for r in Right] == ["read", "run", "edit", "manage"]
    assert Right.parse(" Edit ") == Right.EDIT
    with pytest.raises(ValueError, match="one of: read, run, edit, manage"):
        Right.parse("admin")
