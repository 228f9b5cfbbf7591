"""The waiver index answers exactly as the linear scan over a domain's waivers, whatever the
waivers narrow and whatever the request brings (groups as a tuple or a frozenset)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from governance.access.request import AccessRequest
from governance.rules.waivers import ActiveWaiver, DomainWaivers, linear_waived

PRINCIPALS = ["alice", "bob", "carol"]
GROUPS = ["ops", "analysts", "stewards", "contractors"]
PRODUCTS = ["d.a", "d.b", "d.c"]
ACTIONS = ["read", "export", "share"]
POLICIES = ["global/no-export", "global/no-share"]
TODAY = dt.date(2026, 6, 1)


def _subset(names: list[str]) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(names), max_size=len(names))


waivers = st.builds(
    ActiveWaiver,
    id=st.integers(0, 10**6).map(lambda i: f"global/w{i}"),
    policy=st.sampled_from(POLICIES),
    expires=st.sampled_from([TODAY - dt.timedelta(days=1), TODAY, TODAY + dt.timedelta(days=1)]),
    principals=_subset(PRINCIPALS),
    groups=_subset(GROUPS),
    products=st.none() | _subset(PRODUCTS),  # an empty set: globs that named no product
    actions=_subset(ACTIONS),
)
requests = st.tuples(
    st.sampled_from([*PRINCIPALS, "dave"]),
    st.sampled_from(ACTIONS),
    st.sampled_from(PRODUCTS),
    st.lists(st.sampled_from([*GROUPS, "unnamed"]), max_size=4).flatmap(
        lambda gs: st.sampled_from([tuple(gs), frozenset(gs)])
    ),
).map(lambda t: AccessRequest(t[0], t[1], t[2], groups=t[3]))


@settings(max_examples=400, deadline=None)
@given(domain=st.lists(waivers, max_size=12), request=requests)
def test_the_index_answers_as_the_linear_scan(
    domain: list[ActiveWaiver], request: AccessRequest
) -> None:
    assert DomainWaivers(domain).waived(request, TODAY) == linear_waived(domain, request, TODAY)


def test_the_last_matching_waiver_of_a_guardrail_is_named_whichever_dimension_found_it() -> None:
    by_group = ActiveWaiver(
        "global/first", POLICIES[0], TODAY, frozenset(), frozenset({"ops"}), None, frozenset()
    )
    by_principal = ActiveWaiver(
        "global/second", POLICIES[0], TODAY, frozenset({"alice"}), frozenset(), None, frozenset()
    )
    request = AccessRequest("alice", "read", "d.a", groups=("ops",))
    assert DomainWaivers([by_group, by_principal]).waived(request, TODAY) == {
        POLICIES[0]: "global/second"
    }
    assert DomainWaivers([by_principal, by_group]).waived(request, TODAY) == {
        POLICIES[0]: "global/first"
    }
