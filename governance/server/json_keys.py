"""A JSON body that repeats a key within one object is refused: parsers disagree on which value wins.

orjson, like most parsers, keeps the last value; others keep the first. A body such as
`{"columns": ["base_salary"], "columns": ["employee_id"]}` would then be decided on one list
while a proxy or gateway in front, reading the same bytes, acted on the other.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

# A JSON string token (valid JSON only, as orjson has accepted the body already).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def repeated_key(body: bytes, value: Any) -> bool:
    """Whether `body`, which decodes to `value`, names some key twice in one object.

    In valid JSON every colon outside a string follows a key, so the colons outside strings
    count the keys as written, and the decoded objects count them once each."""
    written = body.count(b":")
    if b"\\u" not in body:
        # Without `\u` escapes a colon inside a string is written as a colon, as orjson writes
        # it back: the decoded value encoded again has as many colons inside its strings as
        # the body, and outside them one per key it holds. A repeated key loses at least its
        # own colon, so the counts differ exactly when a key repeats. (In C: a fraction of
        # walking the decoded value, which a batch of a hundred evaluations makes long.)
        try:
            return orjson.dumps(value).count(b":") != written
        except TypeError:  # nested deeper than orjson writes (its JSONEncodeError): walk it
            pass
    # The count of every colon is an upper bound that often settles it without the string pass.
    decoded = _keys(value)
    if written == decoded:
        return False
    return _STRING.sub(b"", body).count(b":") != decoded


def _keys(value: Any) -> int:
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            count += len(item)
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
    return count
