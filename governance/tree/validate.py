"""Cross-file validation of a loaded tree: names resolve, ids are unique, layers stay in scope.

Each stage appends to one problem list instead of raising, so a user sees every problem at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from fnmatch import fnmatchcase
from typing import Any

from governance.cedar_bridge import parse_schema, validate_policies
from governance.errors import Location, Problem
from governance.tree.catalog import Product
from governance.tree.cedar_files import SourcePolicy
from governance.tree.file_memo import FileMemo
from governance.tree.formats import ActionSpec, Selector
from governance.tree.layers import Layer, PolicyTree


def validate_tree(tree: PolicyTree, problems: list[Problem], memo: FileMemo | None = None) -> None:
    """Every cross-file check; with the `memo` of a load, a layer checked against the schema by
    the previous load with the same policies and schema (both revisions equal) is not again."""
    _check_layers(tree, problems, memo)
    for stage in STAGES:
        stage(tree, problems)
    _check_scope(tree, problems, memo)
    _check_schema(tree, problems, memo)


def action_problems(
    actions: list[ActionSpec], locate: Callable[[tuple[int | str, ...]], Location]
) -> list[Problem]:
    """The action hierarchy is a forest of declared names: an action named twice, its own
    parent, a parent never declared, or a cycle is an error at the action that says it (Cedar
    would refuse the entities, and the engine could not be built)."""
    found: list[Problem] = []
    first: dict[str, int] = {}
    for index, action in enumerate(actions):
        where = locate(("actions", index))
        if action.name in first:
            earlier = locate(("actions", first[action.name]))
            message = f"action `{action.name}` is declared twice (first at {earlier})"
            found.append(Problem(where, "duplicate-id", message))
            continue
        first[action.name] = index
        for parent in action.parents:
            if parent == action.name:
                message = f"action `{action.name}` is its own parent"
                found.append(Problem(where, "action-cycle", message))
    parents = {a.name: [p for p in a.parents if p != a.name] for a in actions}
    for name, index in first.items():
        for parent in parents[name]:
            if parent not in parents:
                message = f"action `{name}` names unknown parent action `{parent}`"
                found.append(Problem(locate(("actions", index)), "unknown-entity", message))
    for cycle in _cycles(parents):
        message = f"the action hierarchy has a cycle: {' -> '.join(f'`{a}`' for a in cycle)}"
        found.append(Problem(locate(("actions", first[cycle[0]])), "action-cycle", message))
    return found


def _cycles(parents: Mapping[str, list[str]]) -> list[list[str]]:
    """Each cycle of the parent graph once, starting at its first declared member."""
    order = {name: i for i, name in enumerate(parents)}
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    found: list[list[str]] = []
    for start in parents:
        if start in state:
            continue
        path, stack = [start], [iter(parents[start])]
        state[start] = 1
        while stack:
            step = next(stack[-1], None)
            if step is None:
                state[path.pop()] = 2
                stack.pop()
            elif step not in parents or state.get(step) == 2:
                continue
            elif state.get(step) == 1:
                cycle = path[path.index(step) :]
                turn = min(range(len(cycle)), key=lambda i: order[cycle[i]])
                found.append([*cycle[turn:], *cycle[:turn], cycle[turn]])
            else:
                state[step] = 1
                path.append(step)
                stack.append(iter(parents[step]))
    return found


def _check_layers(tree: PolicyTree, problems: list[Problem], memo: FileMemo | None) -> None:
    """The checks that read one layer alone: levels its rules and products name, and ids
    unique within it. They depend on the layer and on the configuration (its levels), that
    is on the layer's revision and the global one: an unchanged layer's findings are reused."""
    levels = set(tree.config.classification.levels)
    known = ", ".join(tree.config.classification.levels)
    for layer in tree.layers():

        def check(found: list[Problem], layer: Layer = layer) -> None:
            _check_levels(layer, levels, known, found)
            _check_unique_ids(layer, found)

        if memo is None:
            check(problems)
        else:
            stamp = (layer.revision, tree.global_layer.revision)
            memo.get(("layer-checks", layer.name), stamp, problems, check)
    all_products = [(p.id, p.location) for layer in tree.domains.values() for p in layer.products]
    _unique(all_products, "product id", problems)


def _check_levels(layer: Layer, levels: set[str], known: str, problems: list[Problem]) -> None:
    def check(level: str | None, location: Location, what: str) -> None:
        if level is not None and level not in levels:
            message = f"{what}: unknown level `{level}` (known: {known})"
            problems.append(Problem(location, "unknown-level", message))

    seen: set[Location] = set()  # a table's declaration is inherited by each of its columns
    for rule in layer.classification:
        check(rule.item.level, rule.location, f"rule `{rule.item.id}`")
    for retention in layer.retention:
        floor = retention.item.applies_to.min_classification
        check(floor, retention.location, f"rule `{retention.item.id}`")
    for masking in layer.masking:
        match = masking.item.match
        for level in [*match.levels, match.min_level]:
            check(level, masking.location, f"masking rule `{masking.item.id}`")
    for product in layer.products:
        check(product.declared, product.location, f"product `{product.id}`")
        for column in product.columns:
            check(column.declared, column.location, f"column `{column.key}`")
            for level, location in column.inherited:
                if location not in seen:
                    seen.add(location)
                    check(level, location, f"table or property above `{column.key}`")


def _check_unique_ids(layer: Layer, problems: list[Problem]) -> None:
    _unique(((p.local_id, p.location) for p in layer.policies), "policy @id", problems)
    _unique(
        ((r.item.id, r.location) for r in layer.classification), "classification rule", problems
    )
    _unique(((r.item.id, r.location) for r in layer.retention), "retention rule", problems)
    _unique(((h.item.id, h.location) for h in layer.holds), "legal hold", problems)
    _unique(((m.item.id, m.location) for m in layer.masking), "masking rule", problems)
    _unique(((w.item.id, w.location) for w in layer.waivers), "waiver", problems)


def _unique(items: Iterable[tuple[str, Location]], what: str, problems: list[Problem]) -> None:
    seen: dict[str, Location] = {}
    for identifier, location in items:
        if identifier in seen:
            message = f"duplicate {what} `{identifier}` (first defined at {seen[identifier]})"
            problems.append(Problem(location, "duplicate-id", message))
        else:
            seen[identifier] = location


def _check_products(tree: PolicyTree, problems: list[Problem]) -> None:
    for name, layer in tree.domains.items():
        if layer.config is not None and layer.config.name != name:
            location = Location(str(layer.folder / "domain.yaml"), 1, 1)
            message = f"domain.yaml names `{layer.config.name}` but the folder is `{name}`"
            problems.append(Problem(location, "domain-mismatch", message))


def _check_retention(tree: PolicyTree, problems: list[Problem]) -> None:
    for layer in tree.domains.values():
        for rule in layer.retention:
            if rule.item.locked:
                message = f"rule `{rule.item.id}`: only the global layer can lock a retention rule"
                problems.append(Problem(rule.location, "locked-in-domain", message))
    for layer in tree.layers():
        for sourced in layer.retention:
            bounds = sourced.item
            if bounds.min is not None and bounds.max is not None and bounds.min > bounds.max:
                message = f"rule `{bounds.id}`: min {bounds.min} exceeds its own max {bounds.max}"
                problems.append(Problem(sourced.location, "retention-conflict", message))


def _check_waivers(tree: PolicyTree, problems: list[Problem]) -> None:
    guardrails = {p.full_id: p for p in tree.global_layer.policies}
    for sourced in tree.global_layer.waivers:
        waiver = sourced.item
        policy = guardrails.get(waiver.policy)
        if policy is None:
            message = f"waiver `{waiver.id}` names unknown global policy `{waiver.policy}`"
            problems.append(Problem(sourced.location, "unknown-policy", message))
        elif policy.effect != "forbid" or not policy.waivable:
            message = (
                f'waiver `{waiver.id}`: `{waiver.policy}` is not a @waivable("true") guardrail'
            )
            problems.append(Problem(sourced.location, "not-waivable", message))
        if waiver.domain not in tree.domains:
            message = f"waiver `{waiver.id}` names unknown domain `{waiver.domain}`"
            problems.append(Problem(sourced.location, "unknown-domain", message))


def _check_waiver_narrowing(tree: PolicyTree, problems: list[Problem]) -> None:
    """A waiver's `actions` and `products` must name something real, or its narrowing is a typo
    that silently waives nothing (or, left empty, everything); no narrowing at all is a warning."""
    actions = {a.name for a in tree.config.action_specs()}
    catalog = sorted(tree.products())
    for sourced in tree.global_layer.waivers:
        waiver = sourced.item
        for action in waiver.actions:
            if action not in actions:
                message = f"waiver `{waiver.id}` names unknown action `{action}`"
                problems.append(Problem(sourced.location, "unknown-action", message))
        for pattern in waiver.products:
            if not any(fnmatchcase(product, pattern) for product in catalog):
                message = f"waiver `{waiver.id}`: `{pattern}` matches no product of the catalog"
                problems.append(Problem(sourced.location, "unknown-product", message))
        if not (waiver.principals or waiver.groups or waiver.products or waiver.actions):
            message = (
                f"waiver `{waiver.id}` has no `principals`, `groups`, `products` or `actions`: "
                f"it lifts `{waiver.policy}` for every request of domain `{waiver.domain}`"
            )
            problems.append(Problem(sourced.location, "broad-waiver", message, "warning"))


def _check_scope(tree: PolicyTree, problems: list[Problem], memo: FileMemo | None) -> None:
    """A domain policy naming another domain's entity is an error (docs/SEMANTICS.md §1): it would grant
    nothing there, and it signals a team reaching outside what it owns.

    A layer's findings depend on its policies, the actions (both in revisions) and the
    domains its policies name (a `Domain` id, or a product's: the domain its id begins with),
    so they are reused while those domains' revisions are unchanged. Only when every product
    id begins with its own domain's name, as a tree without `bad-product-id` errors has it."""
    products = tree.products()
    actions = {a.name for a in tree.config.action_specs()}
    if memo is not None and not all(p.id.startswith(f"{p.domain}.") for p in products.values()):
        memo = None
    for layer in tree.layers():

        def check(found: list[Problem], layer: Layer = layer) -> None:
            for policy in layer.policies:
                for uid in policy.names:
                    message = _scope_finding(uid, layer.name, products, tree, actions)
                    if message:
                        code = "scope-violation" if "belongs to" in message else "unknown-entity"
                        found.append(Problem(policy.location, code, f"{policy.full_id}: {message}"))

        if memo is None:
            check(problems)
            continue
        named = memo.get(("scope-names", layer.name), layer.revision, [], _domains_named(layer))
        domains = tree.domains
        stamp = (
            layer.revision, tree.global_layer.revision,
            tuple((d, domains[d].revision if d in domains else None) for d in named),
        )  # fmt: skip
        memo.get(("scope", layer.name), stamp, problems, check)


def _domains_named(layer: Layer) -> Callable[[list[Problem]], tuple[str, ...]]:
    """The domains a layer's policies name: a `Domain` id, or the domain a product id or a
    column's product id begins with."""

    def read(found: list[Problem]) -> tuple[str, ...]:
        named: set[str] = set()
        for policy in layer.policies:
            for uid in policy.names:
                kind = uid.type.basename
                if kind == "Domain":
                    named.add(uid.id)
                elif kind in ("DataProduct", "Column"):
                    named.add(uid.id.split("/", 1)[0].split(".", 1)[0])
        return tuple(sorted(named))

    return read


def _scope_finding(
    uid: Any, layer: str, products: dict[str, Any], tree: PolicyTree, actions: set[str]
) -> str:
    kind, identifier = uid.type.basename, uid.id
    owner = ""
    if kind == "Action":
        return "" if identifier in actions else f"unknown action `{identifier}`"
    if kind == "Domain":
        if identifier not in tree.domains:
            return f"unknown domain `{identifier}`"
        owner = identifier
    elif kind in ("DataProduct", "Column"):
        product = products.get(identifier.split("/", 1)[0])
        if product is None:
            return f"unknown product `{identifier.split('/', 1)[0]}`"
        if kind == "Column" and product.column(identifier.split("/", 1)[1]) is None:
            return f"unknown column `{identifier}`"
        owner = product.domain
    if layer != "global" and owner and owner != layer:
        return f"names `{uid}`, which belongs to domain `{owner}`"
    return ""


def _check_rule_scope(tree: PolicyTree, problems: list[Problem]) -> None:
    """The scope rule for every file, not only Cedar: a domain's classification, retention and
    masking rules, its holds, and the narrowing of a waiver granted to it, name only its own
    products and itself. They would have no effect elsewhere, and they signal a team reaching
    outside what it owns."""
    products = tree.products()
    for name, layer in tree.domains.items():
        for rule in layer.classification:
            problems += _out_of_scope(
                rule.item.match.products, name, products, f"classification rule `{rule.full_id}`",
                rule.location,
            )  # fmt: skip
        for masking in layer.masking:
            problems += _out_of_scope(
                masking.item.match.products, name, products, f"masking rule `{masking.full_id}`",
                masking.location,
            )  # fmt: skip
        selectors = [(f"retention rule `{r.full_id}`", r.item.applies_to, r.location)
                     for r in layer.retention]  # fmt: skip
        selectors += [
            (f"legal hold `{h.full_id}`", h.item.applies_to, h.location) for h in layer.holds
        ]
        for what, selector, location in selectors:
            problems += _selector_out_of_scope(selector, name, products, what, location)
    for waiver in tree.global_layer.waivers:
        domain = waiver.item.domain
        if domain in tree.domains:
            what = f"waiver `{waiver.item.id}` for domain `{domain}`"
            problems += _out_of_scope(waiver.item.products, domain, products, what, waiver.location)


def _selector_out_of_scope(
    selector: Selector, domain: str, products: Mapping[str, Product], what: str,
    location: Location,
) -> Iterator[Problem]:  # fmt: skip
    for other in (d for d in selector.domains if d != domain):
        message = f"{what} names domain `{other}`; a domain's rules apply only to itself"
        yield Problem(location, "scope-violation", message)
    yield from _out_of_scope(selector.products, domain, products, what, location)


_WILDCARD = re.compile(r"[*?\[]")


def _out_of_scope(
    globs: Iterable[str], domain: str, products: Mapping[str, Product], what: str,
    location: Location,
) -> Iterator[Problem]:  # fmt: skip
    for glob in globs:
        other = _other_domain(glob, domain, products)
        if other is not None:
            message = (
                f"{what} names products of domain `{other}` (`{glob}`); "
                f"it may name only `{domain}.*` products"
            )
            yield Problem(location, "scope-violation", message)


def _other_domain(glob: str, domain: str, products: Mapping[str, Product]) -> str | None:
    """The other domain a product glob names: the one it spells out (`finance.*`), or, when it
    spells out none (`*.ledger`), the one whose products it matches while matching none of ours."""
    literal = _WILDCARD.split(glob, maxsplit=1)[0]
    if "." in literal:
        named = literal.split(".", 1)[0]
        return None if named == domain else named
    owners = {p.domain for pid, p in products.items() if fnmatchcase(pid, glob)}
    return None if not owners or domain in owners else min(owners)


def _check_schema(tree: PolicyTree, problems: list[Problem], memo: FileMemo | None) -> None:
    """Each layer's policies against the schema. What Cedar's validator finds depends on those
    policies and the schema alone: the layer's revision covers the first, the global revision
    (which `governance.yaml` and the schema are part of) the second."""
    if not tree.schema_text:
        return
    schema: Any = None
    for layer in tree.layers():
        if not layer.policies:
            continue

        def check(found: list[Problem], policies: list[SourcePolicy] = layer.policies) -> None:
            nonlocal schema
            if schema is None:
                schema = _parsed_schema(tree.schema_text)
            if schema is not False:
                _validate_layer(policies, schema, found)

        if memo is None:
            check(problems)
        else:
            stamp = (layer.revision, tree.global_layer.revision)
            memo.get(("schema-check", layer.name), stamp, problems, check)


def _parsed_schema(text: str) -> Any:
    try:
        return parse_schema(text)
    except ValueError:
        return False  # already reported by the loader


def _validate_layer(policies: list[SourcePolicy], schema: Any, problems: list[Problem]) -> None:
    text = "\n".join(policy.text for policy in policies)
    by_position = {f"policy{i}": policy for i, policy in enumerate(policies)}
    for policy_id, message in validate_policies(text, schema):
        policy = by_position.get(policy_id)
        location = policy.location if policy else Location(str(policies[0].location.file))
        name = policy.full_id if policy else policy_id
        message = " ".join(message.replace(f"`{policy_id}`", f"`{name}`").split())
        problems.append(Problem(location, "cedar-schema", message))


STAGES: tuple[Callable[[PolicyTree, list[Problem]], None], ...] = (
    _check_products,
    _check_retention,
    _check_waivers,
    _check_waiver_narrowing,
    _check_rule_scope,
)
