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

from cedarpy import pst

from governance.compiler.compile import Codegen, emit_policy, hoisted_lookups, instantiate
from governance.compiler.errors import EvaluationError
from governance.compiler.values import EntityUID, Record

Errors = list[tuple[int, EvaluationError]] | None
FusedFunction = Callable[
    [EntityUID, EntityUID, EntityUID, Record, object], tuple[list[int], Errors]
]

_BODY_DEPTH = 3  # function body, `try`, `while True`


def compile_fused(
    templates: Sequence[pst.Template],
    positions: Sequence[int] | None = None,
    *,
    store_is_principal: bool = False,
) -> FusedFunction:
    """One function evaluating every template, in order; raises CompileError as
    :func:`compile_policy` does. `positions` are the numbers it reports for the templates
    (their own indexes when not given): a part of a larger plan reports the plan's.
    `store_is_principal`: every caller passes, as the store, the principal's own entity
    (whose `get` of the principal gives itself, as the engine's bound request does), so the
    principal is not looked up: one call fewer per evaluation."""
    constants: list[object] = []
    hoisted: set[str] = set()
    lines: list[str] = ["    hits = []", "    errors = None"]
    for index, template in enumerate(templates):
        gen = Codegen(constants, reject="break", depth=_BODY_DEPTH, hoist=True)
        emit_policy(gen, template)
        # A part's positions are constants, not literals, so parts of one shape share code.
        position = str(index) if positions is None else gen.const(int(positions[index]))
        hoisted |= gen.hoisted
        lines += [
            "    try:",
            "        while True:",
            *gen.lines,
            f"            hits.append({position})",
            "            break",
            "    except EvaluationError as error:",
            "        if errors is None: errors = []",
            f"        errors.append(({position}, error))",
        ]
    lines.append("    return hits, errors")
    lines[:0] = hoisted_lookups(hoisted, 1, store_is_principal)  # once, for all bodies
    params = ", ".join(f"K{i}" for i in range(len(constants)))
    body = "\n".join("    " + line for line in lines)
    source = f"def factory({params}):\n    def fused(P, A, R, C, S):\n{body}\n    return fused\n"
    function: FusedFunction = instantiate(source, constants, "fused policies", len(templates))
    return function
