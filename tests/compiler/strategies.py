"""Hypothesis strategies for the differential tests: entity graphs, requests and Cedar policy
text covering every construct the compiler handles, including ones that error.

Policies are generated as fully parenthesised Cedar text, typed loosely: most subexpressions
are built for the type their operator wants, but attribute reads return whatever the random
entity data holds, so type errors, missing attributes and missing entities all occur.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import strategies as st

from governance.compiler.literals import escape_debug

LONG_MAX = 2**63 - 1
LONG_MIN = -(2**63)

USERS = ["alice", "bob", 'q"\0\u200b']  # ids, names and strings include escape-heavy ones
GROUPS = ["admins", "staff", "all"]
DOCS = ["d1", "d2"]
ACTIONS = ["read", "write", "any"]
ATTRS = ["a", "b", "n", "s", "flag", "owner", "tags", "ip", "when", "amount", "x\0'y", "😀"]
STRINGS = ["", "x", "alice", "a*b", "abc", "ab\nc", "\0", 'q"\0\u200b', "é\u0301", "\\*"]
TAGS = ["t1", "t2"]

ENTITY_TYPES = {"User": USERS, "Group": GROUPS, "Doc": DOCS}


def uid(kind: str, ident: str) -> dict[str, str]:
    return {"type": kind, "id": ident}


def uid_text(kind: str, ident: str) -> str:
    return f'{kind}::"{escape_debug(ident)}"'


entity_refs = st.sampled_from(
    [(kind, ident) for kind, idents in ENTITY_TYPES.items() for ident in idents]
    + [("User", "ghost"), ("Group", "nowhere")]
)
action_refs = st.sampled_from([("Action", a) for a in ACTIONS])

# --- extension strings, valid and not -------------------------------------------------

DECIMALS = [
    "1.5",
    "-0.5",
    "0.0001",
    "12.34",
    "922337203685477.5807",
    "-922337203685477.5808",
    "1",
    "1.23456",
    "abc",
    "922337203685477.5808",
    "-0.0",
    "007.10",
]
IPS = [
    "127.0.0.1",
    "10.0.0.0/8",
    "10.1.2.3",
    "192.168.0.1/24",
    "224.0.0.1",
    "::1",
    "ff02::1",
    "2001:db8::/32",
    "2001:db8::1",
    "::ffff:1.2.3.4",
    "1.2.3.4/33",
    "01.2.3.4",
    "1.2.3",
    "1.2.3.4/08",
    "::",
    "fe80::1%eth0",
    "224.0.0.0/3",
    "ff00::/7",
    "1:2:3:4:5:6:7:8",
    "1::2::3",
    "0.0.0.0/0",
    "255.255.255.255",
]
DATETIMES = [
    "2024-01-01",
    "2024-02-29T12:00:00Z",
    "1969-12-31T23:59:59.999Z",
    "2024-10-15T11:38:02.101+1134",
    "2024-10-15T11:38:02-2359",
    "0000-01-01",
    "2023-02-29",
    "9999-12-31T23:59:59.999Z",
    "2024-01-01T24:00:00Z",
    "2024-01-01T00:00:00",
    "2024-1-01",
    "2024-01-01T00:00:00+2400",
    "2016-12-31T23:59:60Z",
    "1970-01-01",
]
DURATIONS = [
    "1h",
    "-1d2h",
    "1d2h3m4s5ms",
    "5ms",
    "1m",
    "0ms",
    "-",
    "",
    "1s1d",
    "-25h",
    "106751991167d",
    "106751991168d",
    "9223372036854775807ms",
    "-9223372036854775808ms",
    "1x",
]
EXT_STRINGS = {"decimal": DECIMALS, "ip": IPS, "datetime": DATETIMES, "duration": DURATIONS}


# --- JSON values (entity attributes, tags, context) -------------------------------------

json_longs = st.one_of(
    st.integers(-3, 5), st.sampled_from([LONG_MAX, LONG_MIN, LONG_MAX - 1, 2**62, -(2**62)])
)


def _x(fn: str, *args: Any) -> dict[str, Any]:
    """An `__extn` escape: one argument as `arg`, otherwise `args`."""
    return {
        "__extn": {"fn": fn, "arg": args[0]} if len(args) == 1 else {"fn": fn, "args": list(args)}
    }


_IP, _NET = _x("ip", "10.1.2.3"), _x("ip", "10.0.0.0/8")
_DEC, _DAY, _HOUR = _x("decimal", "1.5"), _x("datetime", "2024-01-01"), _x("duration", "1h")
# Cedar evaluates any extension function in an escape, not only constructors.
EXTN_CALLS = [
    *[_x(fn, _IP) for fn in ["isIpv4", "isIpv6", "isLoopback", "isMulticast"]],
    _x("isInRange", _IP, _NET),
    *[_x(fn, _DEC, _DEC) for fn in ["lessThan", "lessThanOrEqual", "greaterThan"]],
    _x("greaterThanOrEqual", _DEC, _x("decimal", "-2.0")),
    *[_x(fn, _HOUR) for fn in ["toMilliseconds", "toSeconds", "toMinutes", "toHours", "toDays"]],
    _x("offset", _DAY, _HOUR),
    _x("durationSince", _DAY, _x("datetime", "2023-12-31")),
    _x("toDate", _x("datetime", "2024-01-01T10:00:00Z")),
    _x("toTime", _x("datetime", "2024-01-01T10:00:00Z")),
    {"__expr": 1},  # only a string `__expr` is refused: this is a record
]
# Refused as a whole by cedarpy: wrong argument types and counts, unknown functions.
EXTN_INVALID = [
    _x("isIpv4", "10.1.2.3"),
    _x("isIpv4", _IP, _IP),
    _x("isInRange", _IP),
    _x("toHours", _IP),
    _x("lessThan", _DEC, _IP),
    _x("decimal", "1.5", "2.5"),
    _x("decimal", 1),
    _x("offset", _HOUR, _HOUR),
    _x("nosuch", "1"),
    _x("ipaddr", "10.1.2.3"),
    {"__expr": "1"},
]
# cedarpy's unknown(...) values (rare: a request holding one is answered by cedarpy alone)
UNKNOWNS = [_x("unknown", "u"), _x("unknown", "w", "z")]

json_scalars = st.one_of(
    st.booleans(),
    json_longs,
    st.sampled_from(STRINGS),
    entity_refs.map(lambda ref: {"__entity": uid(*ref)}),
    # the first six strings of each list are valid; an invalid one makes cedarpy refuse
    # the whole entity set, which the compiled side must do too
    st.sampled_from(list(EXT_STRINGS)).flatmap(
        lambda fn: st.sampled_from(EXT_STRINGS[fn][:6]).map(
            lambda arg: {"__extn": {"fn": fn, "arg": arg}}
        )
    ),
    st.sampled_from(EXTN_CALLS),
)
# with cedarpy's unknown(...) values now and then (a request holding one is answered by
# cedarpy alone, so only the standalone API's differential tests draw them)
json_scalars_with_unknowns = st.one_of(
    json_scalars,
    st.integers(0, 30).flatmap(lambda n: st.sampled_from(UNKNOWNS if n == 0 else EXTN_CALLS)),
)
json_invalid = st.sampled_from(
    [
        {"__extn": {"fn": "datetime", "arg": "2023-02-29"}},
        {"__extn": {"fn": "decimal", "arg": "1.23456"}},
        2**63,
        {"__entity": {"type": "User"}},
        *EXTN_INVALID,
    ]
)


def _values(scalars: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(ATTRS[:4]), inner, max_size=3),
        ),
        max_leaves=6,
    )


json_values = _values(json_scalars)
json_values_with_unknowns = _values(json_scalars_with_unknowns)
json_records = st.dictionaries(st.sampled_from(ATTRS), json_values, max_size=5)
json_records_with_unknowns = st.dictionaries(
    st.sampled_from(ATTRS), json_values_with_unknowns, max_size=5
)


def _maybe_invalid(records: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.tuples(records, st.integers(1, 20), json_invalid).map(
        lambda t: {**t[0], "bad": t[2]} if t[1] == 7 else t[0]
    )


@st.composite
def entity_lists(draw: st.DrawFn, unknowns: bool = False) -> list[dict[str, Any]]:
    """Entities of every type (some left out of the store), with a random hierarchy."""
    records = json_records_with_unknowns if unknowns else json_records
    values = json_values_with_unknowns if unknowns else json_values
    entities = []
    for kind, idents in ENTITY_TYPES.items():
        for ident in idents:
            if draw(st.integers(0, 9)) == 0:
                continue
            # Groups only join later groups, so the hierarchy has no cycle (Cedar refuses one).
            allowed = GROUPS[GROUPS.index(ident) + 1 :] if kind == "Group" else GROUPS
            parents = draw(st.lists(st.sampled_from(GROUPS), max_size=2, unique=True))
            entities.append(
                {
                    "uid": uid(kind, ident),
                    "attrs": draw(_maybe_invalid(records) if ident == "d2" else records),
                    "parents": [uid("Group", g) for g in parents if g in allowed],
                    "tags": draw(st.dictionaries(st.sampled_from(TAGS), values, max_size=2)),
                }
            )
    action_parents = draw(st.booleans())
    for action in ACTIONS:
        parents = [uid("Action", "any")] if action_parents and action != "any" else []
        entities.append({"uid": uid("Action", action), "attrs": {}, "parents": parents})
    return entities


def _uid_texts() -> st.SearchStrategy[str]:
    """Uid text as Cedar prints it (text Cedar refuses is drawn in `test_literals`)."""
    return entity_refs.map(lambda ref: uid_text(*ref))


@st.composite
def requests(draw: st.DrawFn, unknowns: bool = False) -> dict[str, Any]:
    return {
        "principal": draw(st.one_of(entity_refs.map(lambda r: uid(*r)), _uid_texts())),
        "action": uid(*draw(action_refs)),
        "resource": uid(*draw(entity_refs)),
        "context": draw(json_records_with_unknowns if unknowns else json_records),
    }


# --- policy text --------------------------------------------------------------------------


def _quote(text: str) -> str:
    """A Cedar string literal for `text`, as Cedar prints it."""
    return f'"{escape_debug(text)}"'


def _spelled(text: str) -> st.SearchStrategy[str]:
    """Cedar string literals for `text`: as printed, or every character as `\\u{...}`,
    with `\\x` and `\\u{...}` for ASCII (all mean the same string)."""

    def escaped(char: str, style: int) -> str:
        if style == 1 or (style == 2 and ord(char) > 0x7F):
            return f"\\u{{{ord(char):x}}}"
        if style == 2:
            return f"\\x{ord(char):02x}"
        return escape_debug(char)

    return st.sampled_from([0, 1, 2]).map(
        lambda style: '"' + "".join(escaped(c, style) for c in text) + '"'
    )


def _is_ident(name: str) -> bool:
    return name.isascii() and name.isidentifier()


def _lit_entity() -> st.SearchStrategy[str]:
    return entity_refs.map(lambda ref: uid_text(*ref))


VARS = ["principal", "resource", "action", "context"]


def _attr_name() -> st.SearchStrategy[str]:
    return st.sampled_from(ATTRS)


@functools.cache
def expressions(depth: int, want: str = "any", typed: bool = False) -> st.SearchStrategy[str]:
    """A Cedar expression, built for type `want` (bool, long, str, entity, set, record, ext, any)."""
    leaves = _leaves(want)
    if depth <= 0:
        return leaves
    sub = lambda w: expressions(depth - 1, w, typed)  # noqa: E731
    options: list[st.SearchStrategy[str]] = [leaves, _attribute(depth, typed)]
    if want in ("bool", "any"):
        options += _bool_forms(sub)
        if not typed:
            options.append(_wrong_arity(sub))
    if want in ("long", "any"):
        options += [
            st.tuples(sub("long"), st.sampled_from(["+", "-", "*"]), sub("long")).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            sub("long").map(lambda e: f"(-{e})"),
            st.tuples(
                sub("ext"),
                st.sampled_from(["toMilliseconds", "toSeconds", "toMinutes", "toHours", "toDays"]),
            ).map(lambda t: f"({t[0]}).{t[1]}()"),
        ]
    if want in ("set", "any"):
        options.append(st.lists(sub("any"), max_size=3).map(lambda xs: f"[{', '.join(xs)}]"))
    if want in ("record", "any"):
        options.append(
            st.dictionaries(st.sampled_from(ATTRS[:4]), sub("any"), max_size=3).map(
                lambda d: "{" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}"
            )
        )
    if want in ("ext", "any"):
        options += [
            st.tuples(sub("ext"), st.sampled_from(["offset", "durationSince"]), sub("ext")).map(
                lambda t: f"({t[0]}).{t[1]}({t[2]})"
            ),
            st.tuples(sub("ext"), st.sampled_from(["toDate", "toTime"])).map(
                lambda t: f"({t[0]}).{t[1]}()"
            ),
            st.tuples(st.sampled_from(list(EXT_STRINGS)), sub("str")).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
        ]
    if want in ("entity", "any", "str", "long", "bool", "ext"):
        options.append(
            st.tuples(sub("bool"), sub(want), sub(want)).map(
                lambda t: f"(if {t[0]} then {t[1]} else {t[2]})"
            )
        )
    return st.one_of(options)


def _leaves(want: str) -> st.SearchStrategy[str]:
    longs = st.one_of(st.integers(-3, 5), st.sampled_from([LONG_MAX, LONG_MIN, 2**62])).map(
        lambda n: f"({n})" if n < 0 else str(n)
    )
    strings = st.sampled_from(STRINGS).flatmap(_spelled)
    exts = st.sampled_from(list(EXT_STRINGS)).flatmap(
        lambda fn: st.sampled_from(EXT_STRINGS[fn]).map(lambda arg: f"{fn}({_quote(arg)})")
    )
    table = {
        "bool": st.sampled_from(["true", "false"]),
        "long": longs,
        "str": strings,
        "entity": st.one_of(_lit_entity(), st.sampled_from(VARS[:3])),
        "set": st.sampled_from(["[]", "[1, true]", '[User::"alice", Group::"staff"]']),
        "record": st.sampled_from(["context", "{}", "{a: 1, b: true}"]),
        "ext": exts,
    }
    if want == "any":
        return st.one_of([*table.values(), st.sampled_from(VARS)])
    return table[want]


def _attribute(depth: int, typed: bool) -> st.SearchStrategy[str]:
    base = st.one_of(st.sampled_from(VARS), expressions(depth - 1, "entity", typed))
    return st.one_of(
        st.tuples(base, _attr_name().filter(_is_ident)).map(lambda t: f"({t[0]}).{t[1]}"),
        st.tuples(base, _attr_name().flatmap(_spelled)).map(lambda t: f"({t[0]})[{t[1]}]"),
        st.tuples(base, st.sampled_from(TAGS)).map(lambda t: f"({t[0]}).getTag({_quote(t[1])})"),
    )


def _pattern() -> st.SearchStrategy[str]:
    escapes = ["\\x2a", "\\u{2a}", "\\0", "\\\\", "\\u{1F600}", "\\'", '\\"', "\\x61"]
    pieces = st.lists(
        st.sampled_from(["a", "b", "*", "\\*", "x", "\\n", "é", *escapes]), max_size=4
    )
    return pieces.map(lambda ps: '"' + "".join(ps) + '"')


def _wrong_arity(sub: Any) -> st.SearchStrategy[str]:
    """Extension calls with the wrong number of arguments, and `unknown(...)`: Cedar parses
    them (and errors when evaluating), cedarpy's typed AST refuses them."""
    unary = ["isIpv4", "isLoopback", "toDate", "toHours", "toDays"]
    binary = ["isInRange", "lessThan", "offset", "durationSince"]
    return st.one_of(
        st.tuples(sub("ext"), st.sampled_from(unary), sub("ext")).map(
            lambda t: f"(({t[0]}).{t[1]}({t[2]}) == true)"
        ),
        st.tuples(sub("ext"), st.sampled_from(binary)).map(lambda t: f"(({t[0]}).{t[1]}() == 1)"),
        st.tuples(st.sampled_from(list(EXT_STRINGS)), sub("str"), sub("str")).map(
            lambda t: f"({t[0]}({t[1]}, {t[2]}) == {t[0]}({t[1]}))"
        ),
        st.sampled_from(list(EXT_STRINGS)).map(lambda fn: f"({fn}() == {fn}())"),
        st.just('(unknown("u") == 1)'),
    )


def _bool_forms(sub: Any) -> list[st.SearchStrategy[str]]:
    ops = ["==", "!=", "<", "<=", ">", ">="]
    methods = ["lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual", "isInRange"]
    return [
        st.tuples(sub("bool"), st.sampled_from(["&&", "||"]), sub("bool")).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        sub("bool").map(lambda e: f"(!{e})"),
        st.tuples(sub("any"), st.sampled_from(ops), sub("any")).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(sub("long"), st.sampled_from(ops[2:]), sub("long")).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        st.tuples(sub("entity"), st.one_of(sub("entity"), sub("set"))).map(
            lambda t: f"({t[0]} in {t[1]})"
        ),
        st.tuples(sub("any"), st.lists(_attr_name().filter(_is_ident), min_size=1, max_size=3)).map(
            lambda t: f"({t[0]} has {'.'.join(t[1])})"
        ),
        st.tuples(sub("any"), _attr_name().flatmap(_spelled)).map(lambda t: f"({t[0]} has {t[1]})"),
        st.tuples(sub("any"), _pattern()).map(lambda t: f"({t[0]} like {t[1]})"),
        st.tuples(sub("any"), st.sampled_from([*ENTITY_TYPES, "Action"])).map(
            lambda t: f"({t[0]} is {t[1]})"
        ),
        st.tuples(sub("entity"), st.sampled_from(list(ENTITY_TYPES)), sub("entity")).map(
            lambda t: f"({t[0]} is {t[1]} in {t[2]})"
        ),
        st.tuples(
            sub("set"), st.sampled_from(["contains", "containsAll", "containsAny"]), sub("any")
        ).map(lambda t: f"({t[0]}).{t[1]}({t[2]})"),
        sub("set").map(lambda e: f"({e}).isEmpty()"),
        st.tuples(
            sub("entity"),
            st.sampled_from(["hasTag", "getTag"]),
            st.one_of(st.sampled_from(TAGS).map(_quote), sub("str")),
        ).map(lambda t: f"({t[0]}).{t[1]}({t[2]})"),
        st.tuples(sub("ext"), st.sampled_from(methods), sub("ext")).map(
            lambda t: f"({t[0]}).{t[1]}({t[2]})"
        ),
        st.tuples(
            sub("ext"), st.sampled_from(["isIpv4", "isIpv6", "isLoopback", "isMulticast"])
        ).map(lambda t: f"({t[0]}).{t[1]}()"),
    ]


def _principal_scope() -> st.SearchStrategy[str]:
    return _scope("principal")


def _scope(var: str) -> st.SearchStrategy[str]:
    # Unconstrained half the time, so that conditions get evaluated often.
    return st.one_of(
        st.just(var),
        st.just(var),
        st.just(var),
        st.just(var),
        _lit_entity().map(lambda e: f"{var} == {e}"),
        _lit_entity().map(lambda e: f"{var} in {e}"),
        st.sampled_from(list(ENTITY_TYPES)).map(lambda t: f"{var} is {t}"),
        st.tuples(st.sampled_from(list(ENTITY_TYPES)), _lit_entity()).map(
            lambda t: f"{var} is {t[0]} in {t[1]}"
        ),
    )


def _action_scope() -> st.SearchStrategy[str]:
    actions = st.sampled_from([uid_text("Action", a) for a in ACTIONS])
    return st.one_of(
        st.just("action"),
        st.just("action"),
        st.just("action"),
        actions.map(lambda a: f"action == {a}"),
        actions.map(lambda a: f"action in {a}"),
        st.lists(actions, min_size=1, max_size=3).map(lambda xs: f"action in [{', '.join(xs)}]"),
    )


@st.composite
def policies(draw: st.DrawFn, depth: int = 3, typed: bool = False) -> str:
    """A policy; `typed` keeps to what cedarpy's typed AST holds (no wrong-arity calls)."""
    effect = draw(st.sampled_from(["permit", "forbid"]))
    scope = (draw(_scope("principal")), draw(_action_scope()), draw(_scope("resource")))
    clauses = draw(
        st.lists(
            st.tuples(st.sampled_from(["when", "unless"]), expressions(depth, "bool", typed)),
            max_size=2,
        )
    )
    body = " ".join(f"{kind} {{ {expr} }}" for kind, expr in clauses)
    return f"{effect}({', '.join(scope)}) {body};"


@st.composite
def policy_sets(draw: st.DrawFn, max_policies: int = 4, depth: int = 3, typed: bool = False) -> str:
    return "\n".join(draw(st.lists(policies(depth, typed), min_size=1, max_size=max_policies)))


# --- schema mode --------------------------------------------------------------------------

SCHEMA = """
entity Group in [Group] = { n: Long, s?: String };
entity User in [Group] = {
  n: Long, s: String, ip: ipaddr, amount: decimal, when: datetime, flag?: Bool,
  owner?: User, tags: Set<String>, a?: { b: duration, n?: Long }
} tags String;
entity Doc in [Group] = { owner: User, n: Long, tags: Set<ipaddr>, when?: datetime, b?: duration };
action any;
action read, write in [any] appliesTo {
  principal: [User], resource: [Doc, Group],
  context: { ip: ipaddr, when: datetime, n?: Long, owner?: User, amount?: decimal }
};
"""

_VALID = {fn: strings[:6] for fn, strings in EXT_STRINGS.items()}


def _ext_json(fn: str) -> st.SearchStrategy[Any]:
    """An extension value as the schema lets it be written: bare string or escapes."""
    arg = st.sampled_from(_VALID[fn])
    return st.one_of(
        arg,
        arg.map(lambda a: {"__extn": {"fn": fn, "arg": a}}),
        arg.map(lambda a: {"fn": fn, "arg": a}),
    )


def _user_ref() -> st.SearchStrategy[Any]:
    ref = st.sampled_from([*USERS, "ghost"]).map(lambda i: uid("User", i))
    return st.one_of(ref, ref.map(lambda r: {"__entity": r}))


def _optional(attrs: dict[str, st.SearchStrategy[Any]], optional: set[str]) -> Any:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        return {
            name: draw(value)
            for name, value in attrs.items()
            if name not in optional or draw(st.booleans())
        }

    return build()


_schema_longs = st.integers(-3, 5) | st.sampled_from([LONG_MAX, LONG_MIN])
_SCHEMA_ATTRS = {
    "Group": _optional({"n": _schema_longs, "s": st.sampled_from(["x", "abc"])}, {"s"}),
    "User": _optional(
        {
            "n": _schema_longs,
            "s": st.sampled_from(["alice", "a*b", ""]),
            "ip": _ext_json("ip"),
            "amount": _ext_json("decimal"),
            "when": _ext_json("datetime"),
            "flag": st.booleans(),
            "owner": _user_ref(),
            "tags": st.lists(st.sampled_from(["x", "y"]), max_size=2, unique=True),
            "a": _optional({"b": _ext_json("duration"), "n": _schema_longs}, {"n"}),
        },
        {"flag", "owner", "a"},
    ),
    "Doc": _optional(
        {
            "owner": _user_ref(),
            "n": _schema_longs,
            "tags": st.lists(st.sampled_from(_VALID["ip"]), max_size=2, unique=True),
            "when": _ext_json("datetime"),
            "b": _ext_json("duration"),
        },
        {"when", "b"},
    ),
}


@st.composite
def schema_entity_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Entities conforming to `SCHEMA` (the schema supplies the action entities)."""
    entities = []
    for kind, idents in ENTITY_TYPES.items():
        for ident in idents:
            if draw(st.integers(0, 9)) == 0:
                continue
            allowed = GROUPS[GROUPS.index(ident) + 1 :] if kind == "Group" else GROUPS
            parents = (
                draw(st.lists(st.sampled_from(allowed), max_size=2, unique=True)) if allowed else []
            )
            entity: dict[str, Any] = {
                "uid": uid(kind, ident),
                "attrs": draw(_SCHEMA_ATTRS[kind]),
                "parents": [uid("Group", g) for g in parents],
            }
            if kind == "User":
                entity["tags"] = draw(
                    st.dictionaries(st.sampled_from(TAGS), st.sampled_from(["x", "y"]), max_size=2)
                )
            entities.append(entity)
    return entities


@st.composite
def schema_requests(draw: st.DrawFn) -> dict[str, Any]:
    context = draw(
        _optional(
            {
                "ip": _ext_json("ip"),
                "when": _ext_json("datetime"),
                "n": _schema_longs,
                "owner": _user_ref(),
                "amount": _ext_json("decimal"),
            },
            {"n", "owner", "amount"},
        )
    )
    return {
        "principal": uid("User", draw(st.sampled_from([*USERS, "ghost"]))),
        "action": uid("Action", draw(st.sampled_from(["read", "write"]))),
        "resource": uid(
            *draw(st.sampled_from([("Doc", d) for d in DOCS] + [("Group", g) for g in GROUPS]))
        ),
        "context": context,
    }
