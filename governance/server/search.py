"""AuthZEN 1.0 search: the products, actions or principals that one request pattern permits.

Each candidate is decided by the engine like any evaluation (and logged like one), so a result
fed back into `/access/v1/evaluation` is permitted. Candidates come in a stable order (products
and actions by name, principals by id), which pagination relies on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from governance.server.authzen import (
    BadRequest,
    Decide,
    mask_obligations,
    negotiated,
    read_entity,
)
from governance.server.pages import paged, read_page
from governance.snapshot import Snapshot

PRODUCT_TYPE = "DataProduct"


def search_resources(body: Any, snapshot: Snapshot, decide: Decide) -> dict[str, Any]:
    """Which products may `subject` perform `action` on? Masks ride on each result."""
    body = _object(body)
    read_entity(body, "subject", ("type", "id"))
    read_entity(body, "action", ("name",))
    resource = read_entity(body, "resource", ("type",))
    page = read_page(body)
    request, masks_supported = negotiated(_context_checked(body))
    results: list[dict[str, Any]] = []
    refusals: list[str] = []
    products = sorted(snapshot.products) if resource["type"] == PRODUCT_TYPE else []
    for product in products:
        candidate = {**request, "resource": {**resource, "id": product}}
        found = {"type": PRODUCT_TYPE, "id": product}
        results.extend(_permitted(candidate, decide, masks_supported, found, refusals))
    return _answered(results, refusals, len(products), page)


def search_actions(body: Any, snapshot: Snapshot, decide: Decide) -> dict[str, Any]:
    """Which actions may `subject` perform on `resource`? (`action` is not part of the request.)"""
    body = _object(body)
    read_entity(body, "subject", ("type", "id"))
    read_entity(body, "resource", ("type", "id"))
    page = read_page(body)
    request, masks_supported = negotiated(_context_checked(body))
    results: list[dict[str, Any]] = []
    refusals: list[str] = []
    for name in sorted(snapshot.actions):
        candidate = {**request, "action": {"name": name}}
        results.extend(_permitted(candidate, decide, masks_supported, {"name": name}, refusals))
    return _answered(results, refusals, len(snapshot.actions), page)


def search_subjects(
    body: Any, principals: Mapping[str, Mapping[str, Any]], decide: Decide
) -> dict[str, Any]:
    """Which known principals of `subject.type` may perform `action` on `resource`?

    `principals` are the subjects the server knows (the policy tree's fixtures): each result
    carries the properties it was decided with, so the caller can evaluate it again."""
    body = _object(body)
    subject = read_entity(body, "subject", ("type",))
    read_entity(body, "action", ("name",))
    read_entity(body, "resource", ("type", "id"))
    page = read_page(body)
    request, masks_supported = negotiated(_context_checked(body))
    results: list[dict[str, Any]] = []
    refusals: list[str] = []
    entities = _of_type(principals.values(), subject["type"])
    for entity in entities:
        candidate = {**request, "subject": entity}
        results.extend(_permitted(candidate, decide, masks_supported, dict(entity), refusals))
    return _answered(results, refusals, len(entities), page)


def _permitted(
    request: dict[str, Any],
    decide: Decide,
    masks_supported: bool,
    result: dict[str, Any],
    refusals: list[str],
) -> list[dict[str, Any]]:
    decision = decide(request)
    if decision.refusal:
        refusals.append(decision.refusal)
    if not decision.allowed or (decision.masks and not masks_supported):
        return []
    if decision.masks:
        result["obligations"] = mask_obligations(decision)
    return [result]


def _answered(
    results: list[dict[str, Any]], refusals: list[str], candidates: int, page: Any
) -> dict[str, Any]:
    """The page of results; when the schema or reader refused the request for every candidate,
    a 400 saying why, not an empty result that reads as "nothing is permitted"."""
    if refusals and len(refusals) == candidates:
        raise BadRequest(f"the request is refused: {refusals[0]}")
    return paged(results, page)


def _of_type(principals: Iterable[Mapping[str, Any]], wanted: str) -> list[Mapping[str, Any]]:
    return sorted((p for p in principals if p.get("type") == wanted), key=lambda p: str(p["id"]))


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _context_checked(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("context") is not None and not isinstance(body["context"], dict):
        raise BadRequest("`context` must be an object")
    return {k: v for k, v in body.items() if k != "page"}
