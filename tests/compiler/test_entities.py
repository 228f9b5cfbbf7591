"""Entity stores: JSON forms, ancestors, schema-directed reading, and the per-request overlay."""

from __future__ import annotations

import pytest

from governance.compiler import (
    CedarSet,
    Decimal,
    Entity,
    EntityStore,
    EntityUID,
    IPAddr,
    Record,
    compile_policies,
)

U = EntityUID("User", "u")
G1, G2, G3 = EntityUID("Group", "g1"), EntityUID("Group", "g2"), EntityUID("Group", "g3")


def test_ancestors_are_transitive_and_include_absent_parents() -> None:
    store = EntityStore.from_json(
        [
            {
                "uid": {"type": "User", "id": "u"},
                "attrs": {},
                "parents": [{"type": "Group", "id": "g1"}],
            },
            {
                "uid": {"__entity": {"type": "Group", "id": "g1"}},
                "attrs": {},
                "parents": [{"__entity": {"type": "Group", "id": "g2"}}],
            },
            {
                "uid": {"type": "Group", "id": "g2"},
                "attrs": {},
                "parents": [{"type": "Group", "id": "g3"}],
            },
        ]
    )
    assert store.ancestors(U) == {G1, G2, G3}
    assert store.ancestors(G3) == frozenset()
    assert store.get(G3) is None


def test_cycles_and_duplicates_are_refused_as_cedar_does() -> None:
    cycle = [
        {
            "uid": {"type": "Group", "id": "g1"},
            "attrs": {},
            "parents": [{"type": "Group", "id": "g2"}],
        },
        {
            "uid": {"type": "Group", "id": "g2"},
            "attrs": {},
            "parents": [{"type": "Group", "id": "g1"}],
        },
    ]
    with pytest.raises(ValueError, match="cycle"):
        EntityStore.from_json(cycle)
    with pytest.raises(ValueError, match="duplicate"):
        EntityStore.from_json([cycle[0], cycle[0]])
    with pytest.raises(ValueError):
        EntityStore.from_json([{"uid": {"type": "User", "id": "u"}}])


def test_schemaless_values_and_escapes() -> None:
    store = EntityStore.from_json("""[{"uid": {"type": "User", "id": "u"}, "parents": [],
        "attrs": {"n": 1, "b": true, "s": "x", "set": [1, true, 1],
                  "ref": {"__entity": {"type": "User", "id": "v"}},
                  "plain": {"type": "User", "id": "v"},
                  "dec": {"__extn": {"fn": "decimal", "arg": "1.5"}},
                  "when": {"__extn": {"fn": "offset", "args": [
                      {"__extn": {"fn": "datetime", "arg": "1970-01-01"}},
                      {"__extn": {"fn": "duration", "arg": "5ms"}}]}},
                  "not_escape": {"__entity": {"type": "User"}}},
        "tags": {"t": 2}}]""")
    entity = store.get(U)
    assert entity is not None
    attrs = entity.attrs
    assert attrs["n"] == 1 and attrs["b"] is True and attrs["s"] == "x"
    assert attrs["set"] == CedarSet.of([1, True]) and len(attrs["set"]) == 2  # type: ignore[arg-type]
    assert attrs["ref"] == EntityUID("User", "v")
    assert attrs["plain"] == Record(type="User", id="v")
    assert attrs["dec"] == Decimal(15_000)
    assert attrs["when"].ms == 5  # type: ignore[attr-defined]
    assert type(attrs["not_escape"]) is Record
    assert entity.tags == {"t": 2}
    with pytest.raises(ValueError):
        EntityStore.from_json(
            [{"uid": {"type": "User", "id": "u"}, "parents": [], "attrs": {"x": 1.5}}]
        )
    with pytest.raises(ValueError):
        EntityStore.from_json(
            [
                {
                    "uid": {"type": "User", "id": "u"},
                    "parents": [],
                    "attrs": {"x": {"__extn": {"fn": "ip", "arg": "nope"}}},
                }
            ]
        )


SCHEMA = """
namespace App {
  type Net = { addr: ipaddr, ranges: Set<ipaddr> };
  entity Team;
  entity User in [Team] = { net: Net, boss?: User, cost: decimal } tags datetime;
  action view;
  action read in [view] appliesTo { principal: User, resource: Team, context: { at: datetime } };
}
"""


def test_schema_directs_reading_and_adds_actions() -> None:
    store = EntityStore.from_json(
        [
            {
                "uid": {"type": "App::User", "id": "u"},
                "parents": [],
                "attrs": {
                    "net": {"addr": "10.0.0.1", "ranges": ["10.0.0.0/8"]},
                    "boss": {"type": "App::User", "id": "b"},
                    "cost": "2.50",
                },
                "tags": {"since": "2024-01-01"},
            }
        ],
        schema=SCHEMA,
    )
    user = store.get(EntityUID("App::User", "u"))
    assert user is not None
    net = user.attrs["net"]
    assert isinstance(net, Record) and isinstance(net["addr"], IPAddr)
    assert user.attrs["boss"] == EntityUID("App::User", "b")
    assert user.attrs["cost"] == Decimal(25_000)
    assert user.tags["since"].ms == 1_704_067_200_000  # type: ignore[attr-defined]
    read = EntityUID("App::Action", "read")
    assert store.ancestors(read) == {EntityUID("App::Action", "view")}


def test_schema_as_json_is_read_too() -> None:
    schema = {
        "": {
            "entityTypes": {
                "U": {
                    "shape": {
                        "type": "Record",
                        "attributes": {"ip": {"type": "Extension", "name": "ipaddr"}},
                    }
                }
            },
            "actions": {"a": {"appliesTo": {"principalTypes": ["U"], "resourceTypes": ["U"]}}},
        }
    }
    policies = compile_policies(
        "permit(principal, action, resource) when { principal.ip.isLoopback() };", schema
    )
    store = EntityStore.from_json(
        [{"uid": {"type": "U", "id": "x"}, "attrs": {"ip": "127.0.0.1"}, "parents": []}], schema
    )
    request = {
        "principal": {"type": "U", "id": "x"},
        "action": {"type": "Action", "id": "a"},
        "resource": {"type": "U", "id": "x"},
        "context": {},
    }
    assert policies.authorize(request, store).decision == "Allow"


def test_overlay_sees_local_entities_first_and_closes_through_the_base() -> None:
    base = EntityStore([Entity(G1, parents=[G2]), Entity(G2, parents=[G3])])
    overlay = base.overlay([Entity(U, Record(name="u"), parents=[G1])])
    assert overlay.ancestors(U) == {G1, G2, G3}
    assert overlay.get(G1) is base.get(G1)
    assert base.get(U) is None
    replaced = base.overlay([Entity(G1, parents=[])])
    assert replaced.ancestors(G1) == frozenset()
    policies = compile_policies('permit(principal in Group::"g3", action, resource);')
    request = {
        "principal": {"type": "User", "id": "u"},
        "action": {"type": "Action", "id": "a"},
        "resource": {"type": "Doc", "id": "d"},
    }
    assert policies.authorize(request, overlay).decision == "Allow"
    assert policies.authorize(request, base).decision == "Deny"
