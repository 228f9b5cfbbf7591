"""A statement's token shape: value literals lifted out, so texts differing only in them share a plan.

Applications and BI tools send the same query again and again with other values in it
(`WHERE order_id = 1042`, `LIMIT 50 OFFSET 100`). Tokenizing is a small part of planning, so
the gateway keys its plans by the token stream with those literals replaced by a marker of
their kind; a text of a known shape is then served by the shape's plan with its own literals as
bound parameters (DuckDB `$n`), never spliced into SQL, so no literal can change a statement's
structure.

Only literals in value positions are lifted: a plain string or a plain decimal number that is
an operand of a comparison, `LIKE`/`ILIKE`, `BETWEEN` or an `IN` list, or the count of `LIMIT`
or `OFFSET`. Every other token, `ORDER BY 1`, `INTERVAL '1 day'`, `DATE '2024-01-01'`,
formats, dollar-quoted or escape strings included, stays in the key with its exact text. The
key also records which tokens touch (the parser looks at adjacency) but not comments (which
never reach DuckDB). The planner still checks, on the parsed and qualified tree, that each
lifted literal became a plain value in such a position (`policy_sql.bind_sentinels`).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from decimal import Decimal

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokenizer_core import Token, TokenType

_DIALECT = Dialect.get_or_raise("postgres")
# Tokens after which a literal is an operand: its value never changes what the query reads.
_OPERATORS = frozenset(
    {TokenType.EQ, TokenType.NEQ, TokenType.GT, TokenType.GTE, TokenType.LT, TokenType.LTE,
     TokenType.LIKE, TokenType.ILIKE, TokenType.BETWEEN, TokenType.LIMIT, TokenType.OFFSET}
)  # fmt: skip
# A text holding client parameters keeps its exact-text plan: their `$n` and ours would mix.
_PARAMETERS = frozenset({TokenType.PARAMETER, TokenType.PLACEHOLDER, TokenType.SESSION_PARAMETER})
_LITERALS = frozenset({TokenType.STRING, TokenType.NUMBER})
_INTEGER = re.compile(r"[0-9]{1,18}")
_DECIMAL = re.compile(r"[0-9]{1,18}\.[0-9]{1,18}")

Value = str | int | Decimal
Element = tuple[TokenType, str, bool]  # type, exact text or kind marker, touches the next token


@dataclass(frozen=True, slots=True)
class Shape:
    """`key` names the shape; `values` are the lifted literals in order, `indexes` their tokens."""

    key: tuple[Element, ...]
    values: tuple[Value, ...]
    indexes: tuple[int, ...]
    tokens: list[Token] = field(compare=False, repr=False)  # the text's, for the parser

    def sentinel_tokens(self) -> tuple[list[Token], dict[tuple[bool, str], int]]:
        """The text's tokens with each lifted literal's text replaced by a random literal of
        the same kind (positions kept, so the parser sees the same adjacency), and which literal
        (is_string, text) stands for which value."""
        tag = secrets.token_hex(8)
        number = str(secrets.randbelow(9 * 10**11) + 10**11)  # twelve digits, no leading zero
        tokens, sentinels = list(self.tokens), {}
        for position, (index, value) in enumerate(zip(self.indexes, self.values, strict=True)):
            if isinstance(value, str):
                text = f"govern_{tag}_{position}"
            else:
                text = f"{number}{position:04d}" + (".5" if isinstance(value, Decimal) else "")
            token = tokens[index]
            tokens[index] = Token(
                token.token_type, text, token.line, token.col, token.start, token.end, []
            )
            sentinels[(isinstance(value, str), text)] = position
        return tokens, sentinels


def shape_of(sql: str) -> Shape | None:
    """The text's shape, or None when it has no literal to lift, holds parameters or does not
    tokenize (the caller then plans the exact text)."""
    try:
        tokens = _DIALECT.tokenize(sql)
    except SqlglotError:
        return None
    types = [token.token_type for token in tokens]
    if not _PARAMETERS.isdisjoint(types):
        return None
    ends = [token.end for token in tokens]
    touches = [a + 1 == b.start for a, b in zip(ends, tokens[1:], strict=False)] + [False]
    key: list[Element] = []
    values: list[Value] = []
    indexes: list[int] = []
    listed: set[int] = set()  # lifted literals that are members of an `IN (...)` list
    lows: set[int] = set()  # lifted literals right after `BETWEEN`
    for index, token in enumerate(tokens):
        kind = types[index]
        value = None
        if kind in _LITERALS and index:
            before = types[index - 1]
            two_before = types[index - 2] if index > 1 else None
            in_list = (before == TokenType.L_PAREN and two_before == TokenType.IN) or (
                before == TokenType.COMMA and index - 2 in listed
            )
            if in_list or before in _OPERATORS or (before == TokenType.AND and index - 2 in lows):
                value = _value(token)
        if value is None:
            key.append((kind, token.text, touches[index]))
            continue
        key.append((kind, _kind(value), touches[index]))
        values.append(value)
        indexes.append(index)
        if in_list:
            listed.add(index)
        if before == TokenType.BETWEEN:
            lows.add(index)
    if not values:
        return None
    return Shape(tuple(key), tuple(values), tuple(indexes), tokens)


def _value(token: Token) -> Value | None:
    """A plain string or number's value as it is bound; None for any other token."""
    if token.token_type == TokenType.STRING:
        return token.text
    if token.token_type != TokenType.NUMBER:
        return None
    if _INTEGER.fullmatch(token.text):
        return int(token.text)
    if _DECIMAL.fullmatch(token.text):
        return Decimal(token.text)
    return None


def _kind(value: Value) -> str:
    # No kept token has this text: a string in an operand position is always lifted, and a
    # number's text has no NUL, so a lifted literal's element never equals a kept one's.
    if isinstance(value, str):
        return "\x00string"
    return "\x00decimal" if isinstance(value, Decimal) else "\x00integer"
