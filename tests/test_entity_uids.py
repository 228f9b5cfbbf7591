"""`cedar_bridge.entity_uids` names what cedarpy's `pst.entity_uids` names, for any policy."""

from __future__ import annotations

import cedarpy
from hypothesis import given

from governance.cedar_bridge import entity_uids, pst
from tests.compiler.strategies import policy_sets


@given(policy_sets(max_policies=4, depth=4))
def test_the_uids_a_policy_names_are_cedarpys(text: str) -> None:
    try:
        parsed = cedarpy.policies_to_pst(text)
    except ValueError:
        return  # text the generator made that Cedar refuses
    for template in (*parsed.static_policies.values(), *parsed.templates.values()):
        assert entity_uids(template) == pst.entity_uids(template)


def test_uids_in_every_place_a_policy_holds_them() -> None:
    text = (
        'permit(principal == User::"a", action in [Action::"r", Action::"w"], '
        'resource in Folder::"f") when { context.x == Doc::"d" && '
        '{"k": Team::"t"}.k in [Group::"g"] && principal is User in Org::"o" };'
    )
    (template,) = cedarpy.policies_to_pst(text).static_policies.values()
    got = entity_uids(template)
    assert got == pst.entity_uids(template)
    assert {str(u.id) for u in got} == {"a", "r", "w", "f", "d", "t", "g", "o"}
