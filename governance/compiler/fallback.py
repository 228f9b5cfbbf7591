"""Policies the standalone API leaves to cedarpy, each with the reason, evaluated per request
and sorted into Cedar's buckets beside the compiled ones.

Two kinds of policy land here: text Cedar accepts but cedarpy's typed AST cannot hold (such as
``duration("a", "")``, a wrong-arity call Cedar evaluates to an error), and policies the
compiler refuses (such as nesting too deep for Python's parser). Their Cedar text is handed
to cedarpy as two sets, forbids and permits (a set of one effect names every satisfied policy
as a reason), and the answers are mapped back to the policies' positional ids.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Mapping

import cedarpy

from governance.compiler.entities import EntityStore, Store
from governance.compiler.jsonvalues import write_value
from governance.compiler.values import EntityUID, Record

_ERRORED = re.compile(r"error while evaluating policy `policy([0-9]+)`")
_POSITIONAL = re.compile(r"policy([0-9]+)")
_RESIDUAL = "the expression contains unknown(s)"


class FallbackPolicies:
    """Policies evaluated by cedarpy: ``reasons`` says why each one is not compiled."""

    __slots__ = ("_entities", "_sets", "reasons")

    def __init__(self, statements: Mapping[str, tuple[str, str]], reasons: Mapping[str, str]):
        """`statements` gives each policy's effect and Cedar text by its id."""
        self.reasons = dict(reasons)
        # Cedar lists only the determining policies as reasons: the satisfied forbids when one
        # is, else the satisfied permits. A set of one effect therefore lists all satisfied.
        self._sets: list[tuple[str, cedarpy.PolicySet, list[str]]] = []
        for effect in ("forbid", "permit"):
            ids = [policy_id for policy_id, (kind, _) in statements.items() if kind == effect]
            if ids:
                text = "\n".join(statements[policy_id][1] for policy_id in ids)
                self._sets.append((effect, cedarpy.PolicySet.from_str(text), ids))
        # A base store is read into cedarpy once; overlays (per request) each time.
        self._entities: weakref.WeakKeyDictionary[object, cedarpy.Entities] = (
            weakref.WeakKeyDictionary()
        )

    def evaluate(
        self,
        principal: EntityUID,
        action: EntityUID,
        resource: EntityUID,
        context: Record,
        store: Store,
    ) -> tuple[list[str], list[str], list[str], bool]:
        """The satisfied forbids, satisfied permits and errored policies, as Cedar sorts them,
        and whether a forbid's answer was left open by an ``unknown(...)`` value.

        Raises ``ValueError`` when cedarpy refuses the request or the entities as a whole."""
        request = {
            "principal": _uid(principal),
            "action": _uid(action),
            "resource": _uid(resource),
            "context": write_value(context),
        }
        entities = self._cedar_entities(store)
        satisfied: dict[str, list[str]] = {"forbid": [], "permit": []}
        errored: list[str] = []
        open_forbid = False
        for effect, policies, ids in self._sets:
            result = cedarpy.is_authorized(request, policies, entities)
            errors = list(result.diagnostics.errors)
            if result.decision.value == "NoDecision":
                raise ValueError(f"cedarpy refused the request: {'; '.join(errors)}")
            errored += [ids[_position(message)] for message in errors]
            satisfied[effect] += [ids[_position(reason)] for reason in result.diagnostics.reasons]
            open_forbid |= effect == "forbid" and any(_RESIDUAL in message for message in errors)
        return satisfied["forbid"], satisfied["permit"], errored, open_forbid

    def _cedar_entities(self, store: Store) -> cedarpy.Entities:
        handle = self._entities.get(store)
        if handle is None:
            to_json = getattr(store, "to_json", None)
            if to_json is None:
                raise ValueError("policies evaluated by cedarpy need an EntityStore")
            handle = cedarpy.Entities.from_json_str(json.dumps(to_json()))
            if isinstance(store, EntityStore):
                self._entities[store] = handle
        return handle


def _uid(uid: EntityUID) -> dict[str, str]:
    return {"type": uid.type, "id": uid.id}


def _position(text: str) -> int:
    """The position in its set of the policy a cedarpy reason or error message names."""
    match = _POSITIONAL.fullmatch(text) or _ERRORED.match(text)
    if match is None:
        raise ValueError(f"cedarpy failed outside policy evaluation: {text}")
    return int(match.group(1))
