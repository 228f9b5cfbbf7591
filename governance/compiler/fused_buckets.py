"""Cedar's bucketing of one fixed tuple of compiled policies, fused into one generated function.

The standalone ``authorize`` calls one compiled function per candidate policy, and on this
machine a call costs about as much as a short policy's body. A request's candidates come from
a few table entries that requests repeat, so the tuple of candidates is a key worth caching:
:func:`fuse_buckets` compiles the tuple's policies into one function giving the buckets
directly, in the per-policy loop's order:

* each policy's body sits in its own ``try`` (an :class:`EvaluationError` puts that policy,
  and only it, into the errored bucket, as in Cedar) and its own ``while True`` block, whose
  ``break`` is the "not satisfied" exit (see :mod:`governance.compiler.fused`);
* a satisfied policy's id goes into the forbid or permit bucket its effect names, known when
  the code is generated;
* the principal and resource are looked up in the store once, for all bodies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from governance.compiler.compile import (
    Codegen,
    CompiledPolicy,
    emit_policy,
    hoisted_lookups,
    instantiate,
)
from governance.compiler.values import EntityUID, Record

BucketsFunction = Callable[[EntityUID, EntityUID, EntityUID, Record, Any], Any]
"""``(P, A, R, C, S) -> (satisfied forbid ids, satisfied permit ids, errored ids)``, each a
tuple, built with the `make` given to :func:`fuse_buckets`."""

_BODY_DEPTH = 3  # function body, `try`, `while True`


def fuse_buckets(
    policies: Sequence[CompiledPolicy], make: Callable[[tuple[Any, ...]], Any]
) -> BucketsFunction:
    """One function bucketing `policies` in order; `make` builds its answer from the tuple of
    the three id tuples (e.g. a NamedTuple's constructor). Raises CompileError as
    :func:`compile_policy` does (the caller then keeps the per-policy path)."""
    constants: list[object] = [make, tuple, ()]
    hoisted: set[str] = set()
    # Only the buckets the policies' effects can fill are lists; errors are rare.
    effects = {policy.forbid for policy in policies}
    lines = [
        f"    {name} = []" for name, forbid in (("F", True), ("G", False)) if forbid in effects
    ]
    lines.append("    E = None")
    for policy in policies:
        gen = Codegen(constants, reject="break", depth=_BODY_DEPTH, hoist=True)
        emit_policy(gen, policy.template)
        hoisted |= gen.hoisted
        ident = gen.const(policy.id)
        lines += [
            "    try:",
            "        while True:",
            *gen.lines,
            f"            {'F' if policy.forbid else 'G'}.append({ident})",
            "            break",
            "    except EvaluationError:",
            "        if E is None: E = []",
            f"        E.append({ident})",
        ]
    # An empty bucket is the shared `()`: testing a list costs less than calling `tuple`.
    forbids = "K1(F) if F else K2" if True in effects else "K2"
    permits = "K1(G) if G else K2" if False in effects else "K2"
    lines.append(f"    return K0(({forbids}, {permits}, K1(E) if E else K2))")
    lines[:0] = hoisted_lookups(hoisted, 1)  # once, for all bodies
    params = ", ".join(f"K{i}" for i in range(len(constants)))
    body = "\n".join("    " + line for line in lines)
    source = (
        f"def factory({params}):\n    def buckets(P, A, R, C, S):\n{body}\n    return buckets\n"
    )
    function: BucketsFunction = instantiate(source, constants, "fused candidates", len(policies))
    return function
