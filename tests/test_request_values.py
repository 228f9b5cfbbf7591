"""A request's attributes and context as the fast reader keeps them: exact dicts the cyclic
collector can untrack (a decision kept alive leaves fewer objects for it to walk), and one
shared, read-only empty mapping for absent values that copies and pickles as itself."""

from __future__ import annotations

import copy
import gc
import json
import pickle

import orjson
import pytest

from governance.access.request import NO_VALUES, from_authzen
from tests.treebuilder import TreeBuilder, request

ALLOW_ALL = '@id("all")\npermit (principal, action, resource) when { principal.clearance > 0 };\n'


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    t = TreeBuilder(tmp_path_factory.mktemp("values"))
    t.cedar("global", ALLOW_ALL)
    t.product("sales.orders", ["order_id"])
    return t.engine()


def test_a_kept_decision_leaves_its_values_to_be_untracked(engine):
    decision = engine.decide(
        request(groups=["analysts"], clearance=2, context={"purpose": "analytics"})
    )
    assert decision.allowed
    kept = decision.request
    assert type(kept.attributes) is dict and type(kept.context) is dict
    assert kept.attributes == {"clearance": 2} and kept.context == {"purpose": "analytics"}
    gc.collect()
    assert not gc.is_tracked(kept.attributes)
    assert not gc.is_tracked(kept.context)


def test_the_values_are_read_as_before(engine):
    """The evaluator takes the fast reader's values unchecked: they decide as the policy says."""
    assert not engine.decide(request(clearance=0)).allowed
    assert engine.decide(request(clearance=1)).allowed


def test_absent_values_are_one_shared_read_only_mapping():
    groups_only = request(groups=["analysts"])
    del groups_only["subject"]["properties"]["clearance"]
    first = from_authzen(groups_only | {"context": None})
    bare = {"subject": {"id": "a"}, "action": {"name": "read"}, "resource": {"id": "x.y"}}
    second = from_authzen(bare)
    assert first.groups == ("analysts",) and first.attributes is NO_VALUES
    assert second.attributes is second.context is first.context is NO_VALUES
    assert NO_VALUES == {} and len(NO_VALUES) == 0
    for change in (
        lambda v: v.__setitem__("admin", True),
        lambda v: v.update(admin=True),
        lambda v: v.setdefault("admin", True),
        lambda v: v.pop("admin"),
        lambda v: v.popitem(),
        lambda v: v.clear(),
        lambda v: v.__ior__({"admin": True}),
    ):
        with pytest.raises(TypeError):
            change(NO_VALUES)
    assert NO_VALUES == {}


def test_the_shared_mapping_copies_pickles_and_encodes_as_itself():
    bare = {"subject": {"id": "a"}, "action": {"name": "read"}, "resource": {"id": "x.y"}}
    parsed = from_authzen(bare)
    assert pickle.loads(pickle.dumps(parsed)) == parsed
    assert pickle.loads(pickle.dumps(parsed)).context is NO_VALUES
    assert copy.deepcopy(parsed).context is NO_VALUES
    assert copy.copy(NO_VALUES) is NO_VALUES
    assert orjson.dumps(NO_VALUES) == b"{}" and json.dumps(NO_VALUES) == "{}"
    assert repr(parsed.context) == "{}"
