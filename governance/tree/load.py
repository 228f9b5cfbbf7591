"""Loading a policy source tree from disk: every file read, validated and located, all problems kept."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from governance.cedar_bridge import parse_schema
from governance.errors import Location, Problem
from governance.tree.catalog import product_from_descriptor
from governance.tree.cedar_files import nesting_problem, read_policies
from governance.tree.formats import (
    ClassificationFile,
    DomainConfig,
    FixturesFile,
    GovernanceConfig,
    MaskingFile,
    ProductDescriptor,
    RetentionFile,
    WaiversFile,
)
from governance.tree.layers import GLOBAL, Layer, PolicyTree, Sourced
from governance.tree.located_yaml import INVALID, READ_LOG, load_yaml, position_of, read_text
from governance.tree.unread import unread_layer_problems, unread_problems
from governance.tree.validate import validate_tree

M = TypeVar("M", bound=BaseModel)


# A tree loaded from somewhere that is not its real home (bundles unpacked into a private temp
# folder) names its files from a label instead of that folder, which is gone after loading.
_DISPLAY_BASE: ContextVar[tuple[str, str] | None] = ContextVar("display_base", default=None)


def display_path(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when it is below it,
    or `label:relative/path` inside `displayed_as(root, label)`."""
    base = _DISPLAY_BASE.get()
    if base is not None:
        inside = os.path.relpath(path, base[0])
        if not inside.startswith(".."):
            return f"{base[1]}:{Path(inside).as_posix()}"
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


@contextmanager
def displayed_as(root: Path, label: str) -> Iterator[None]:
    """Within the block, files under `root` are named `label:relative/path`."""
    token = _DISPLAY_BASE.set((str(root), label))
    try:
        yield
    finally:
        _DISPLAY_BASE.reset(token)


def load_tree(root: Path | str) -> tuple[PolicyTree | None, list[Problem]]:
    """Read and validate a whole tree. The tree is None only when nothing usable could be read;
    a tree with error problems must not be served (the engine refuses it)."""
    log: dict[Path, str] = {}
    token = READ_LOG.set(log)
    try:
        return _load_tree(Path(root), log)
    finally:
        READ_LOG.reset(token)


def _load_tree(root: Path, log: dict[Path, str]) -> tuple[PolicyTree | None, list[Problem]]:
    problems: list[Problem] = []
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a directory"
        problems.append(Problem(Location(display_path(root)), "not-found", f"policy tree {what}"))
        return None, problems
    problems += unread_problems(root, display_path)
    config = _load_config(root, problems)
    schema_text = _load_schema(root, problems)
    global_layer = _load_layer(root / GLOBAL, GLOBAL, problems, is_global=True)
    domains = _load_domains(root, problems)
    fixtures, fixtures_location = _load_fixtures(root, problems)
    # The org config and schema shape every layer's meaning, so they count as global content.
    global_layer.revision = _revision(
        root, log, [root / "governance.yaml", root / "schema.cedarschema"], root / GLOBAL
    )
    for layer in domains.values():
        layer.revision = _revision(root, log, [], layer.folder)
    tree = PolicyTree(root, config, schema_text, global_layer, domains, fixtures, fixtures_location)
    validate_tree(tree, problems)
    return tree, sorted(problems)


def _load_config(root: Path, problems: list[Problem]) -> GovernanceConfig:
    path = root / "governance.yaml"
    if not path.is_file():
        problems.append(
            Problem(Location(display_path(path)), "missing-file", "missing governance.yaml")
        )
        return GovernanceConfig()
    return read_model(path, GovernanceConfig, problems) or GovernanceConfig()


def _load_schema(root: Path, problems: list[Problem]) -> str:
    path = root / "schema.cedarschema"
    display = display_path(path)
    if not path.is_file():
        problems.append(Problem(Location(display), "missing-schema", "missing schema.cedarschema"))
        return ""
    text = read_text(path, display, problems) or ""
    deep = nesting_problem(text, display, "cedar-schema")
    if deep is not None:
        problems.append(deep)
        return ""
    try:
        parse_schema(text)
    except ValueError as exc:
        problems.append(
            Problem(Location(display, 1, 1), "cedar-schema", " ".join(str(exc).split()))
        )
    return text


# A domain name becomes part of policy ids (`sales/x`) and product ids (`sales.x`): it must be a
# plain identifier, and never the global layer's name, or its policies would pass as guardrails.
DOMAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _load_domains(root: Path, problems: list[Problem]) -> dict[str, Layer]:
    folder = root / "domains"
    if not folder.is_dir():
        return {}
    domains: dict[str, Layer] = {}
    for child in sorted(folder.iterdir()):
        if not child.is_dir() or child.name.startswith("."):
            continue
        if child.name == GLOBAL or not DOMAIN_NAME.match(child.name):
            why = (
                "is reserved for the global layer"
                if child.name == GLOBAL
                else ("must be an identifier (letters, digits, `_`; not starting with a digit)")
            )
            message = f"domain folder `{child.name}` {why}"
            problems.append(Problem(Location(display_path(child)), "bad-domain-name", message))
            continue
        domains[child.name] = _load_layer(child, child.name, problems, is_global=False)
    return domains


def _load_layer(folder: Path, name: str, problems: list[Problem], *, is_global: bool) -> Layer:
    layer = Layer(name=name, folder=folder)
    if not folder.is_dir():
        if is_global:
            problems.append(
                Problem(Location(display_path(folder)), "missing-file", "missing global layer")
            )
        return layer
    problems += unread_layer_problems(folder, is_global=is_global, display=display_path)
    for path in sorted((folder / "access").glob("*.cedar")):
        text = read_text(path, display_path(path), problems)
        if text is not None:
            layer.policies.extend(read_policies(text, display_path(path), name, problems))
    _load_rules(folder, layer, problems)
    layer.tests = sorted((folder / "tests").glob("*.y*ml"))
    if is_global:
        waivers = _sourced(folder / "waivers.yaml", WaiversFile, "waivers", name, problems)
        layer.waivers = waivers
    else:
        _load_domain_files(folder, layer, problems)
    return layer


def _load_rules(folder: Path, layer: Layer, problems: list[Problem]) -> None:
    name = layer.name
    layer.classification = _sourced(
        folder / "classification.yaml", ClassificationFile, "rules", name, problems
    )
    layer.retention = _sourced(folder / "retention.yaml", RetentionFile, "rules", name, problems)
    layer.holds = _sourced(
        folder / "retention.yaml", RetentionFile, "holds", name, problems, report=False
    )
    _load_masking(folder / "masking.yaml", layer, problems)


def _load_masking(path: Path, layer: Layer, problems: list[Problem]) -> None:
    """Masking rules and the layer's default strategy, each located in the file."""
    if not path.is_file():
        return
    document = load_yaml(path, display_path(path), problems)
    parsed = validate_model(document, MaskingFile, display_path(path), problems)
    if parsed is None:
        return
    locate = _locator(document, display_path(path))
    layer.masking = [
        Sourced(rule, layer.name, locate(("rules", i))) for i, rule in enumerate(parsed.rules)
    ]
    if parsed.default is not None:
        layer.masking_default = Sourced(parsed.default, layer.name, locate(("default",)))


def _load_domain_files(folder: Path, layer: Layer, problems: list[Problem]) -> None:
    config_path = folder / "domain.yaml"
    if config_path.is_file():
        layer.config = read_model(config_path, DomainConfig, problems)
    else:
        problems.append(
            Problem(Location(display_path(config_path)), "missing-file", "missing domain.yaml")
        )
    for path in sorted((folder / "products").glob("*.y*ml")):
        document = load_yaml(path, display_path(path), problems)
        descriptor = validate_model(document, ProductDescriptor, display_path(path), problems)
        if descriptor is not None:
            locate = _locator(document, display_path(path))
            if descriptor.domain is not None and descriptor.domain != layer.name:
                message = (
                    f"the contract says domain `{descriptor.domain}` but lives in `{layer.name}`"
                )
                problems.append(Problem(locate(("domain",)), "domain-mismatch", message))
            product = product_from_descriptor(descriptor, locate, problems, layer.name, path.stem)
            layer.products.append(product)


def _load_fixtures(root: Path, problems: list[Problem]) -> tuple[FixturesFile, Location | None]:
    path = root / "fixtures.yaml"
    if not path.is_file():
        return FixturesFile(), None
    return read_model(path, FixturesFile, problems) or FixturesFile(), Location(
        display_path(path), 1
    )


def _sourced(
    path: Path,
    model: type[Any],
    key: str,
    layer: str,
    problems: list[Problem],
    *,
    report: bool = True,
) -> list[Any]:
    """The items under `key` of an optional rules file, each with its own location."""
    if not path.is_file():
        return []
    sink: list[Problem] = problems if report else []
    document = load_yaml(path, display_path(path), sink)
    parsed = validate_model(document, model, display_path(path), sink)
    if parsed is None:
        return []
    locate = _locator(document, display_path(path))
    return [Sourced(item, layer, locate((key, i))) for i, item in enumerate(getattr(parsed, key))]


def read_model(path: Path, model: type[M], problems: list[Problem]) -> M | None:
    display = display_path(path)
    return validate_model(load_yaml(path, display, problems), model, display, problems)


def validate_model(
    document: Any, model: type[M], display: str, problems: list[Problem]
) -> M | None:
    """Validate a parsed document; every pydantic error becomes a problem at its own line."""
    if document is INVALID:
        return None  # already reported where it failed to parse: no cascade of follow-on errors
    if document is None:
        document = {}
    if not isinstance(document, dict):
        problems.append(
            Problem(Location(display, 1, 1), "schema", "expected a mapping at the top level")
        )
        return None
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        for error in exc.errors():
            line, column = position_of(document, tuple(error["loc"]))
            field = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            text = f"`{field}`: {message}" if field else message
            code = "bad-duration" if "invalid duration" in message else "schema"
            problems.append(Problem(Location(display, line, column), code, text))
    return None


def _locator(document: Any, display: str) -> Callable[[tuple[int | str, ...]], Location]:
    def locate(path: tuple[int | str, ...]) -> Location:
        return Location(display, *position_of(document, path))

    return locate


def _revision(root: Path, log: dict[Path, str], files: list[Path], folder: Path) -> str:
    """Digest of the sorted (path, sha256) pairs of exactly the files of a layer that were read
    and parsed: a file the loader never reads cannot change it, and the pairs are separated by
    bytes no path contains, so two different sets never share a digest."""
    # `folder in p.parents` compared as parts tuples: the same test, without building a Path
    # for each parent of every file read, once per layer.
    inside, depth = folder.parts, len(folder.parts)
    listed = set(files)
    chosen = {p for p in log if p in listed or (len(p.parts) > depth and p.parts[:depth] == inside)}
    pairs = sorted((p.relative_to(root).as_posix(), log[p]) for p in chosen)
    digest = hashlib.sha256()
    for name, sha in pairs:
        digest.update(name.encode() + b"\0" + sha.encode() + b"\n")
    return digest.hexdigest()[:16]
