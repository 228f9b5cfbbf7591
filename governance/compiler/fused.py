"""Fused evaluation: several policies compiled into one function that evaluates them all.

Calling one compiled function per policy costs a call, a loop step and a result test each;
for the handful of short residual policies an engine plan holds, that overhead is most of the
time. A fused function runs each policy's body in turn, inline:

* each body sits in its own ``try``, so an error skips that policy only, as in Cedar;
* each body sits in a ``while True`` block whose ``break`` is the "not satisfied" exit (the
  generated code has no loops of its own, so every ``break`` leaves exactly that block);
* the principal and resource are looked up in the store once, for all bodies.

It returns the positions of the satisfied policies and ``None`` or the ``(position, error)``
pairs of the policies that errored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from cedarpy import pst

from governance.compiler.compile import (
    Codegen,
    emit_policy,
    factory_source,
    hoisted_lookups,
    instantiate,
)
from governance.compiler.errors import EvaluationError
from governance.compiler.values import EntityUID, Record

Errors = list[tuple[int, EvaluationError]] | None
FusedFunction = Callable[
    [EntityUID, EntityUID, EntityUID, Record, object], tuple[list[int], Errors]
]

_BODY_DEPTH = 3  # function body, `try`, `while True`


class Body(NamedTuple):
    """One template's fused body, generated once: its code with the constants it uses numbered
    from 0 (`slots`, between the `pieces` of text), so any plan can place it at its own offset."""

    template: pst.Template  # held so that the id keying a `BodyCache` stays its own
    pieces: tuple[str, ...]
    slots: tuple[int, ...]
    constants: tuple[object, ...]
    hoisted: frozenset[str]


BodyCache = dict[int, Body]  # id(template) -> its body, for templates the owner keeps alive

_SLOT = "\x00"  # brackets a constant's number in a body being cached; no `repr` writes it raw


class _SlotCodegen(Codegen):
    """A Codegen writing each constant as its slot number bracketed by `_SLOT`."""

    def const(self, value: object) -> str:
        self.constants.append(value)
        return f"{_SLOT}{len(self.constants) - 1}{_SLOT}"


def _body(template: pst.Template, cache: BodyCache | None) -> Body:
    known = None if cache is None else cache.get(id(template))
    if known is not None and known.template is template:
        return known
    gen = _SlotCodegen([], reject="break", depth=_BODY_DEPTH, hoist=True)
    emit_policy(gen, template)
    parts = "\n    ".join(gen.lines).split(_SLOT)  # the indent of every line but the first
    body = Body(
        template,
        tuple(parts[0::2]),
        tuple(int(slot) for slot in parts[1::2]),
        tuple(gen.constants),
        frozenset(gen.hoisted),
    )
    if cache is not None:
        cache[id(template)] = body
    return body


def _placed(body: Body, offset: int) -> str:
    """The body's code with its constants numbered from `offset`."""
    pieces = body.pieces
    return pieces[0] + "".join(
        f"K{offset + slot}{piece}" for slot, piece in zip(body.slots, pieces[1:], strict=True)
    )


def compile_fused(
    templates: Sequence[pst.Template],
    positions: Sequence[int] | None = None,
    bodies: BodyCache | None = None,
    *,
    store_is_principal: bool = False,
) -> FusedFunction:
    """One function evaluating every template, in order; raises CompileError as
    :func:`compile_policy` does. `positions` are the numbers it reports for the templates
    (their own indexes when not given): a part of a larger plan reports the plan's. `bodies`
    keeps each template's generated body for the next plan that holds it.
    `store_is_principal`: every caller passes, as the store, the principal's own entity
    (whose `get` of the principal gives itself, as the engine's bound request does), so the
    principal is not looked up: one call fewer per evaluation."""
    constants: list[object] = []
    hoisted: set[str] = set()
    lines: list[str] = ["    hits = []", "    errors = None"]
    for index, template in enumerate(templates):
        body = _body(template, bodies)
        code = _placed(body, len(constants))
        constants += body.constants
        hoisted |= body.hoisted
        # A part's positions are constants, not literals, so parts of one shape share code.
        if positions is None:
            position = str(index)
        else:
            constants.append(int(positions[index]))
            position = f"K{len(constants) - 1}"
        lines += [
            "    try:",
            "        while True:",
            *([code] if code else []),
            f"            hits.append({position})",
            "            break",
            "    except EvaluationError as error:",
            "        if errors is None: errors = []",
            f"        errors.append(({position}, error))",
        ]
    lines.append("    return hits, errors")
    lines[:0] = hoisted_lookups(hoisted, 1, store_is_principal)  # once, for all bodies
    source = factory_source("fused", "P, A, R, C, S", lines, constants)
    function: FusedFunction = instantiate(source, constants, "fused policies", len(templates))
    return function
