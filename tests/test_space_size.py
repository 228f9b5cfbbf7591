"""`space_size` counts exactly the distinct requests `space` and extra requests make together."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from governance.tools.decision_space import (
    SpaceRequest,
    persona_request,
    space,
    space_size,
)
from governance.tree.formats import Persona

_values = st.one_of(
    st.booleans(), st.integers(-3, 3), st.sampled_from(["a", "b", "é", ""]), st.none()
)
_personas = st.dictionaries(
    st.sampled_from(["p1", "p2", "p3", "p4"]),
    st.builds(
        lambda id_, groups, clearance: Persona(
            id=id_, properties={"groups": groups, "clearance": clearance}
        ),
        st.sampled_from(["u1", "u2"]),  # two names often hold the same persona
        st.lists(st.sampled_from(["g1", "g2"]), max_size=2),
        st.integers(0, 2),
    ),
    max_size=4,
)
_contexts = st.lists(st.dictionaries(st.sampled_from(["purpose", "x"]), _values, max_size=2))
_required = st.dictionaries(st.sampled_from(["purpose", "ticket"]), _values, max_size=1)


@settings(max_examples=300, deadline=None)
@given(
    personas=_personas,
    actions=st.lists(st.sampled_from(["read", "write", "export"]), max_size=3),
    products=st.lists(st.sampled_from(["s.a", "s.b", "s.c"]), unique=True, max_size=3),
    contexts=_contexts,
    required=_required,
    data=st.data(),
)
def test_the_count_is_that_of_the_requests_made(
    personas: dict[str, Persona],
    actions: list[str],
    products: list[str],
    contexts: list[dict[str, Any]],
    required: dict[str, Any],
    data: st.DataObject,
) -> None:
    def required_context(action: str) -> dict[str, Any]:
        return required if action == "write" else {}

    made = list(space(personas, actions, products, contexts, required_context))
    # Extra requests: some the space makes too, some it does not (other shapes, other values).
    extra = (
        [SpaceRequest("x", dict(r.request)) for r in data.draw(st.lists(st.sampled_from(made)))]
        if made
        else []
    )
    strangers = data.draw(
        st.lists(
            st.sampled_from(
                [
                    persona_request(Persona(id="stranger"), "read", "s.a", {}),
                    persona_request(Persona(id="u1"), "read", "s.z", {"purpose": "a"}),
                    {
                        "subject": {"type": "User", "id": "u1"},
                        "action": {"name": "read"},
                        "resource": {"type": "DataProduct", "id": "s.a"},
                    },
                    {
                        **persona_request(Persona(id="u1"), "read", "s.a", {}),
                        "resource": {
                            "type": "DataProduct",
                            "id": "s.a",
                            "properties": {"columns": ["c"]},
                        },
                    },
                ]
            )
        )
    )
    extra += [SpaceRequest("y", request) for request in strangers]
    expected = {r.key for r in made} | {r.key for r in extra}
    counted = space_size(personas, actions, products, contexts, required_context, extra=extra)
    assert counted == len(expected)


def test_values_orjson_refuses_make_it_say_so() -> None:
    huge = Persona(id="u", properties={"clearance": 2**70})
    assert space_size({"u": huge}, ["read"], ["s.a"], [{}]) is None
