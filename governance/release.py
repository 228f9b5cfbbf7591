"""Freeing a replaced structure a part at a time, so that deciding threads never wait for one
cascade of deallocations."""

from __future__ import annotations

import gc
import sys
from itertools import compress
from typing import Any


def let_go(held: list[Any]) -> None:
    """Release the objects in `held` (a replaced snapshot) a part at a time, never all at once.

    Dropping the last reference to a snapshot frees a million objects in one uninterrupted
    cascade, with the interpreter lock held throughout: deciding threads would stall for as
    long. Here an object that only `held` keeps alive lends its referents to the work list
    before it is dropped when it is near the top (the snapshot, its evaluator, the tree) or
    holds many (the plan table, the product views): so each step frees one small part, and the
    interpreter switches threads between steps. Nothing is mutated, only references let go in
    another order; whatever something else still holds (parts the new snapshot shares) lives on.
    """
    pending = [(item, 0) for item in held]
    held.clear()
    referents, count = gc.get_referents, sys.getrefcount
    tracked, size = gc.is_tracked, sys.getsizeof
    while pending:
        item, depth = pending.pop()
        # `item` and getrefcount's argument the only references: dropping it would free it.
        if count(item) == _ONLY_HERE and tracked(item):
            inner = referents(item)
            # A small object holding a big one (an entity store and its table) is opened too:
            # dropped whole, it would free the big one with everything that alone holds.
            if depth < _TOP or len(inner) > _SMALL or max(map(size, inner), default=0) > _BIG:
                # Only what `item` alone holds (its reference, `inner`'s, the loop variable's
                # and getrefcount's argument): the rest outlives it, so is no part to free.
                # Counted in C (`compress` holds the referent as the loop variable would): most
                # of a big container's referents are shared with the new snapshot.
                alone = compress(inner, map(_ALONE.__eq__, map(count, inner)))
                pending.extend([(r, depth + 1) for r in alone if tracked(r)])
                # `compress` stops at the end of `inner` without exhausting the counting side,
                # whose iterator still holds `inner`: kept, it would give every referent just
                # queued one reference too many, so none would be opened and all would be
                # freed at once with `inner`, the very cascade this avoids.
                del alone
            del inner
        del item


_ONLY_HERE = 2
_ALONE = 4  # references to a referent only `item` holds, while `compress` weighs it
_TOP, _SMALL = 2, 64  # always opened: the first levels, and anything holding more than a few
_BIG = 4096  # bytes: a container of more than a few hundred entries (sys.getsizeof, in C)
