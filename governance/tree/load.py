"""Loading a policy source tree from disk: every file read, validated and located, all problems kept."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from governance.cedar_bridge import parse_schema
from governance.compiler.schema import load_schema
from governance.errors import Location, Problem
from governance.tree.catalog import Product, product_from_descriptor
from governance.tree.cedar_files import SourcePolicy, nesting_problem, read_policies
from governance.tree.file_memo import FileMemo
from governance.tree.fingerprint import layer_listing
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
from governance.tree.layers import GLOBAL, Layer, PolicyTree, Sourced, name_under
from governance.tree.located_yaml import (
    INVALID,
    READ_LOG,
    decode_text,
    load_yaml,
    parse_yaml,
    position_of,
    read_bytes,
)
from governance.tree.unread import unread_layer_problems, unread_problems
from governance.tree.validate import action_problems, validate_tree

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


# How files are named in messages and decision sources: `(folder, prefix)` names a file under
# `folder` as `prefix + its path below folder`. Set for the length of a load, so that a tree read
# through its resolved root still names its files the way the user gave it; a tree loaded from
# somewhere that is not its real home (bundles unpacked into a private temp folder) names its
# files from a label instead of that folder, which is gone after loading.
_DISPLAY_BASE: ContextVar[tuple[str, str] | None] = ContextVar("display_base", default=None)
# The parse results of this load, and of the previous one to reuse (set for the length of a load).
_MEMO: ContextVar[FileMemo | None] = ContextVar("file_memo", default=None)


def display_path(path: Path) -> str:
    """How a file is named in messages: relative to the working directory when it is below it
    (absolute otherwise), as given during a load, or `label:relative/path` inside
    `displayed_as(root, label)`."""
    base = _DISPLAY_BASE.get()
    if base is not None:
        named = name_under(base, path)
        if named is not None:
            return named
        if not base[1]:
            return os.path.abspath(path)  # tree-relative names: anything else stays unambiguous
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


@contextmanager
def displayed_as(root: Path, label: str) -> Iterator[None]:
    """Within the block, files under `root` are named `label:relative/path`."""
    token = _DISPLAY_BASE.set((os.path.realpath(root), f"{label}:"))
    try:
        yield
    finally:
        _DISPLAY_BASE.reset(token)


def load_tree(
    root: Path | str, *, tree_relative: bool = False, previous: PolicyTree | None = None
) -> tuple[PolicyTree | None, list[Problem]]:
    """Read and validate a whole tree. The tree is None only when nothing usable could be read;
    a tree with error problems must not be served (the engine refuses it).

    The root is resolved once and every file is read below that one real folder, so a deploy
    that swaps a `policies -> releases/A` symlink mid-load gives wholly A or wholly B. Files are
    named as the root was given (`policies/domains/...`), or with `tree_relative` relative to
    the root (`domains/...`), the same whatever the working directory: how the engine names the
    sources of its decisions.

    With the `previous` tree, a file whose bytes are those that tree parsed is not parsed again:
    its result (and the problems it gave) is taken from that tree, and so is a layer whose files
    are all unchanged (docs/reload.md). Every file is still read once, and the revision is still
    the digest of exactly the bytes used."""
    given = Path(root)
    pinned = Path(os.path.realpath(given))
    base = _DISPLAY_BASE.get()
    if base is None or tree_relative:
        shown = "" if tree_relative else display_path(given)
        base = (str(pinned), "" if shown in ("", ".") else f"{shown}/")
    log: dict[Path, str] = {}
    # A file's result is kept under the name it is shown by (its problems and locations carry
    # that name) and the sha256 of its bytes, so any tree named the same way may lend it, even
    # from another root (`govern diff` reads the candidate with the base's results). Whole
    # layers, which hold their folder's paths, come only from a tree of the same root.
    memo = FileMemo(base, None if previous is None else previous.memo)
    if previous is not None and (previous.root != pinned or previous.names != base):
        previous = None
    tokens = (READ_LOG.set(log), _DISPLAY_BASE.set(base), _MEMO.set(memo))
    try:
        tree, problems = _load_tree(pinned, log, previous)
    finally:
        _MEMO.reset(tokens[2])
        _DISPLAY_BASE.reset(tokens[1])
        READ_LOG.reset(tokens[0])
        memo.seal()
    if tree is not None:
        tree.names = base
        tree.memo = memo
    return tree, problems


def shown_from(root: Path | str, problems: Iterable[Problem]) -> list[Problem]:
    """Problems of a `tree_relative` load, named as `root` was given, for people to open."""
    shown = display_path(Path(root))
    found = []
    for problem in problems:
        file = problem.location.file
        if not os.path.isabs(file):
            file = shown if file == "." else os.path.join(shown, file) if shown != "." else file
        found.append(replace(problem, location=replace(problem.location, file=file)))
    return found


def _load_tree(
    root: Path, log: dict[Path, str], previous: PolicyTree | None
) -> tuple[PolicyTree | None, list[Problem]]:
    problems: list[Problem] = []
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a directory"
        problems.append(Problem(Location(display_path(root)), "not-found", f"policy tree {what}"))
        return None, problems
    problems += unread_problems(root, display_path)
    config = _load_config(root, problems)
    schema_text = _load_schema(root, problems)
    # The org config and schema shape every layer's meaning, so they count as global content.
    shared = {
        p: log[p] for p in (root / "governance.yaml", root / "schema.cedarschema") if p in log
    }
    global_layer = _load_layer(root, root / GLOBAL, GLOBAL, problems, is_global=True, shared=shared)
    domains = _load_domains(root, problems)
    fixtures, fixtures_location = _load_fixtures(root, problems)
    if previous is not None:
        global_layer = _kept(previous.global_layer, global_layer)
        old = previous.domains
        domains = {n: _kept(old[n], layer) if n in old else layer for n, layer in domains.items()}
    tree = PolicyTree(root, config, schema_text, global_layer, domains, fixtures, fixtures_location)
    validate_tree(tree, problems, _MEMO.get())
    return tree, sorted(problems)


def _kept(earlier: Layer, layer: Layer) -> Layer:
    """The previous tree's layer when this one was made of the same bytes (its revision) and
    lists the same tests: its objects carry over whole, so later stages can tell by identity."""
    same = earlier.revision == layer.revision and earlier.tests == layer.tests
    return earlier if same and earlier.folder == layer.folder else layer


def _parsed(
    path: Path,
    kind: str,
    problems: list[Problem],
    parse: Callable[[str, str, list[Problem]], T],
) -> T | None:
    """`parse(text, display, problems)` of the file at `path`, which is read once. When the
    previous load parsed the same bytes of it as `kind`, its result and problems are reused."""
    display = display_path(path)
    read = read_bytes(path, display, problems)
    if read is None:
        return None
    data, sha = read

    def compute(found: list[Problem]) -> T | None:
        text = decode_text(data, display, found)
        return None if text is None else parse(text, display, found)

    memo = _MEMO.get()
    if memo is None:
        return compute(problems)
    return memo.get((display, kind), sha, problems, compute)


def _parsed_yaml(
    path: Path,
    kind: str,
    problems: list[Problem],
    build: Callable[[Any, str, list[Problem]], T],
) -> T | None:
    """`build(document, display, problems)` of a YAML file, reused like `_parsed`."""

    def parse(text: str, display: str, found: list[Problem]) -> T:
        return build(parse_yaml(text, display, found), display, found)

    return _parsed(path, kind, problems, parse)


def _entry(path: Path) -> bool:
    """Whether the tree has an entry of this name: anything there, even a FIFO, a device, a
    folder or a dangling link, is read or refused with a located problem, never skipped."""
    return os.path.lexists(path)


def _load_config(root: Path, problems: list[Problem]) -> GovernanceConfig:
    path = root / "governance.yaml"
    if not _entry(path):
        problems.append(
            Problem(Location(display_path(path)), "missing-file", "missing governance.yaml")
        )
        return GovernanceConfig()

    def build(document: Any, display: str, found: list[Problem]) -> GovernanceConfig | None:
        config = validate_model(document, GovernanceConfig, display, found)
        if config is not None:
            found += action_problems(config.action_specs(), _locator(document, display))
        return config

    return _parsed_yaml(path, "config", problems, build) or GovernanceConfig()


def _load_schema(root: Path, problems: list[Problem]) -> str:
    path = root / "schema.cedarschema"
    display = display_path(path)
    if not _entry(path):
        problems.append(Problem(Location(display), "missing-schema", "missing schema.cedarschema"))
        return ""

    def parse(text: str, display: str, found: list[Problem]) -> str:
        deep = nesting_problem(text, display, "cedar-schema")
        if deep is not None:
            found.append(deep)
            return ""
        try:
            parse_schema(text)
            declared = load_schema(text)  # what requests are checked against at decide time
        except ValueError as exc:
            found.append(
                Problem(Location(display, 1, 1), "cedar-schema", " ".join(str(exc).split()))
            )
            return text
        if declared is None or not declared.entities:  # `govern check` must not call it clean
            message = "the schema declares no entity type: every request would be refused"
            found.append(Problem(Location(display, 1, 1), "cedar-schema", message))
        return text

    return _parsed(path, "schema", problems, parse) or ""


# A domain name becomes part of policy ids (`sales/x`) and product ids (`sales.x`): it must be a
# plain identifier, and never the global layer's name, or its policies would pass as guardrails.
DOMAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # fullmatch: `$` would let "x\n" by


def _load_domains(root: Path, problems: list[Problem]) -> dict[str, Layer]:
    folder = root / "domains"
    if not folder.is_dir():
        return {}
    domains: dict[str, Layer] = {}
    # One listing of the folder (a directory entry tells a folder without a stat per entry).
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())
    for name in names:
        child = folder / name
        if child.name == GLOBAL or not DOMAIN_NAME.fullmatch(child.name):
            why = (
                "is reserved for the global layer"
                if child.name == GLOBAL
                else ("must be an identifier (letters, digits, `_`; not starting with a digit)")
            )
            message = f"domain folder `{child.name}` {why}"
            problems.append(Problem(Location(display_path(child)), "bad-domain-name", message))
            continue
        domains[child.name] = _load_layer(root, child, child.name, problems, is_global=False)
    return domains


def _load_layer(
    root: Path,
    folder: Path,
    name: str,
    problems: list[Problem],
    *,
    is_global: bool,
    shared: Mapping[Path, str] | None = None,
) -> Layer:
    """One layer, with its revision: the digest of the files read while loading it (all below
    its folder) and of the `shared` files read before.

    When the previous load read this folder with the same listing (every entry, and each
    file's size, mtime, ctime and inode: `layer_listing`), and the same shared files, its
    layer is taken whole without reading a file, with the problems it gave."""
    outer = READ_LOG.get()
    memo = _MEMO.get()

    def read(found: list[Problem]) -> tuple[Layer, dict[Path, str]]:
        own = dict(shared or {})
        token = READ_LOG.set(own)
        try:
            layer = _read_layer(folder, name, found, is_global=is_global)
        finally:
            READ_LOG.reset(token)
        layer.revision = _revision(root, own)
        return layer, own

    if memo is None:
        layer, own = read(problems)
    else:
        listing = layer_listing(folder)
        stamp = object() if listing is None else (listing, tuple(sorted((shared or {}).items())))
        layer, own = memo.get(("layer", folder, is_global), stamp, problems, read)
    if outer is not None:
        outer.update(own)
    return layer


def _read_layer(folder: Path, name: str, problems: list[Problem], *, is_global: bool) -> Layer:
    layer = Layer(name=name, folder=folder)
    if not folder.is_dir():
        if is_global:
            problems.append(
                Problem(Location(display_path(folder)), "missing-file", "missing global layer")
            )
        return layer
    problems += unread_layer_problems(folder, is_global=is_global, display=display_path)

    def policies(text: str, display: str, found: list[Problem]) -> list[SourcePolicy]:
        return read_policies(text, display, name, found)

    for path in sorted((folder / "access").glob("*.cedar")):
        layer.policies.extend(_parsed(path, f"cedar:{name}", problems, policies) or ())
    _load_rules(folder, layer, problems)
    layer.tests = sorted((folder / "tests").glob("*.y*ml"))
    if is_global:
        layer.waivers = _sourced(
            folder / "waivers.yaml", WaiversFile, ("waivers",), name, problems
        )[0]
    else:
        _load_domain_files(folder, layer, problems)
    return layer


def _load_rules(folder: Path, layer: Layer, problems: list[Problem]) -> None:
    name = layer.name
    layer.classification = _sourced(
        folder / "classification.yaml", ClassificationFile, ("rules",), name, problems
    )[0]
    # One read of retention.yaml gives both its rules and its holds.
    retention = _sourced(
        folder / "retention.yaml", RetentionFile, ("rules", "holds"), name, problems
    )
    layer.retention, layer.holds = retention
    _load_masking(folder / "masking.yaml", layer, problems)


def _load_masking(path: Path, layer: Layer, problems: list[Problem]) -> None:
    """Masking rules and the layer's default strategy, each located in the file."""
    if not _entry(path):
        return
    name = layer.name

    def build(document: Any, display: str, found: list[Problem]) -> _Masking | None:
        parsed = validate_model(document, MaskingFile, display, found)
        if parsed is None:
            return None
        locate = _locator(document, display)
        rules = [Sourced(rule, name, locate(("rules", i))) for i, rule in enumerate(parsed.rules)]
        default = parsed.default
        return rules, None if default is None else Sourced(default, name, locate(("default",)))

    masking = _parsed_yaml(path, f"masking:{name}", problems, build)
    if masking is not None:
        layer.masking, layer.masking_default = masking


_Masking = tuple[list[Sourced[Any]], Sourced[Any] | None]


def _load_domain_files(folder: Path, layer: Layer, problems: list[Problem]) -> None:
    config_path = folder / "domain.yaml"
    if _entry(config_path):
        layer.config = _read_model(config_path, DomainConfig, problems)
    else:
        problems.append(
            Problem(Location(display_path(config_path)), "missing-file", "missing domain.yaml")
        )
    for path in sorted((folder / "products").glob("*.y*ml")):
        product = _parsed_yaml(
            path, f"product:{layer.name}", problems, _product_reader(layer, path)
        )
        if product is not None:
            layer.products.append(product)


def _product_reader(
    layer: Layer, path: Path
) -> Callable[[Any, str, list[Problem]], Product | None]:
    name = layer.name

    def build(document: Any, display: str, found: list[Problem]) -> Product | None:
        descriptor = validate_model(document, ProductDescriptor, display, found)
        if descriptor is None:
            return None
        locate = _locator(document, display)
        if descriptor.domain is not None and descriptor.domain != name:
            message = f"the contract says domain `{descriptor.domain}` but lives in `{name}`"
            found.append(Problem(locate(("domain",)), "domain-mismatch", message))
        return product_from_descriptor(descriptor, locate, found, name, path.stem)

    return build


def _load_fixtures(root: Path, problems: list[Problem]) -> tuple[FixturesFile, Location | None]:
    path = root / "fixtures.yaml"
    if not _entry(path):
        return FixturesFile(), None
    return _read_model(path, FixturesFile, problems) or FixturesFile(), Location(
        display_path(path), 1
    )


def _sourced(
    path: Path, model: type[Any], keys: tuple[str, ...], layer: str, problems: list[Problem]
) -> tuple[list[Any], ...]:
    """For each of `keys`, the items under it of an optional rules file, each located."""
    if not _entry(path):
        return tuple([] for _ in keys)

    def build(document: Any, display: str, found: list[Problem]) -> tuple[list[Any], ...] | None:
        parsed = validate_model(document, model, display, found)
        if parsed is None:
            return None
        locate = _locator(document, display)
        return tuple(
            [Sourced(item, layer, locate((key, i))) for i, item in enumerate(getattr(parsed, key))]
            for key in keys
        )

    kind = f"{model.__name__}:{layer}:{','.join(keys)}"
    return _parsed_yaml(path, kind, problems, build) or tuple([] for _ in keys)


def _read_model(path: Path, model: type[M], problems: list[Problem]) -> M | None:
    """`read_model`, reused across loads like every file."""

    def build(document: Any, display: str, found: list[Problem]) -> M | None:
        return validate_model(document, model, display, found)

    return _parsed_yaml(path, model.__name__, problems, build)


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


def _revision(root: Path, read: Mapping[Path, str]) -> str:
    """Digest of the sorted (path, sha256) pairs of exactly the files of a layer that were read
    and parsed (`read`): a file the loader never reads cannot change it, and the pairs are
    separated by bytes no path contains, so two different sets never share a digest."""
    base = os.fspath(root) + os.sep
    pairs = sorted((_below(base, p, root), sha) for p, sha in read.items())
    digest = hashlib.sha256()
    for name, sha in pairs:
        digest.update(name.encode() + b"\0" + sha.encode() + b"\n")
    return digest.hexdigest()[:16]


def _below(base: str, path: Path, root: Path) -> str:
    """`path` relative to `root` (`base` is root and a separator), POSIX style."""
    text = os.fspath(path)
    if text.startswith(base):
        return text[len(base) :].replace(os.sep, "/")
    return path.relative_to(root).as_posix()
