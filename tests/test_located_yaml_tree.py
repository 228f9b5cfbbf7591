"""The one-pass constructor of alias-free YAML builds what PyYAML's constructor builds: the same
values and types, the same positions, the same located errors."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from governance.errors import Problem
from governance.tree.located_yaml import (
    YamlList,
    YamlMap,
    _construct_tree,
    _LocatingLoader,
    _plain_tree,
    parse_yaml,
)


def _both(text: str) -> tuple[Any, Any]:
    """The document as PyYAML's constructor builds it, and as `_construct_tree` does: each
    ("ok", value), ("none",) for an empty stream, or ("error", message) (a dumped document can
    hold keys the loader refuses as duplicates, such as `False` and `'False'`)."""
    built: list[Any] = []
    for fast in (False, True):
        loader = _LocatingLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                built.append(("none",))
                continue
            value = _construct_tree(loader, node) if fast else loader.construct_document(node)
            built.append(("ok", value))
        except yaml.YAMLError as error:
            built.append(("error", str(error)))
        finally:
            loader.dispose()
    return built[0], built[1]


def _alike(expected: Any, got: Any) -> None:
    assert expected[0] == got[0]
    if expected[0] == "ok":
        _same(expected[1], got[1])
    else:
        assert got == expected


def _same(expected: Any, got: Any) -> None:
    assert type(got) is type(expected)
    if isinstance(expected, YamlMap):
        assert (got.line, got.column) == (expected.line, expected.column)
        assert list(got.key_positions.items()) == list(expected.key_positions.items())
        assert list(got) == list(expected)
        for key in expected:
            _same(expected[key], got[key])
    elif isinstance(expected, YamlList):
        assert (got.line, got.column) == (expected.line, expected.column)
        assert got.item_positions == expected.item_positions
        assert len(got) == len(expected)
        for want, have in zip(expected, got, strict=True):
            _same(want, have)
    else:
        assert got == expected or (got != got and expected != expected)  # NaN is NaN


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=8)
    | st.sampled_from(["yes", "no", "on", "~", "null", "1e3", "0x1f", "2024-01-02", "=", "-"])
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6) | st.integers() | st.booleans(), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(documents, st.sampled_from([None, True, False]), st.sampled_from([2, 4]))
def test_dumped_documents_build_alike(data, flow, indent):
    text = yaml.safe_dump(data, default_flow_style=flow, indent=indent, allow_unicode=True)
    if not _plain_tree(text):
        return
    _alike(*_both(text))


@given(st.text(alphabet="ab:-[]{},?\n #'\"1.~", max_size=40))
def test_arbitrary_text_builds_alike_or_fails_alike(text):
    """Whatever text: the same document, or the same located problem."""
    if not _plain_tree(text):
        return
    _alike(*_both(text))


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: 2\na: 3\n",
        "outer:\n  x: 1\n  x: 2\nouter: 3\n",  # the outer duplicate is found first
        "- {k: 1, k: 2}\n",
        "1: a\n'1': b\n",  # keys equal as text
        "a: =\n",  # a `value` scalar, which the safe constructor refuses
    ],
)
def test_located_errors_are_the_same(text):
    problems: list[Problem] = []
    assert _plain_tree(text)
    parse_yaml(text, "f.yaml", problems)
    loader = _LocatingLoader(text)
    try:
        with pytest.raises(yaml.YAMLError) as slow:
            loader.construct_document(loader.get_single_node())
    finally:
        loader.dispose()
    assert problems and str(slow.value).count("line") >= 1
    (problem,) = problems
    mark = getattr(slow.value, "problem_mark", None)
    assert (problem.location.line, problem.location.column) == (mark.line + 1, mark.column + 1)


@pytest.mark.parametrize(
    "text", ["a: &x [1]\nb: *x\n", "base: &b {k: 1}\nm:\n  <<: *b\n", "a: !!str 1\n", "a: !x 1\n"]
)
def test_aliases_merges_and_tags_take_pyyamls_constructor(text):
    assert not _plain_tree(text)
