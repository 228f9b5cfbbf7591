"""A tiny builder for synthetic policy trees written into pytest's `tmp_path`.

Every test builds just what it needs: `governance.yaml`, a Cedar schema and an (empty) global
layer are written up front; domains, Cedar policies, rules, products and waivers are added on
demand. Text given as a string is written as is (dedented), so a test can rely on its line
numbers; mappings and lists are dumped as YAML.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from governance import Engine

# The schema every synthetic tree uses. `clearance` is *required* on purpose: the validator then
# accepts `principal.clearance` without a `has` guard. A request that omits it is refused, as
# cedarpy given the schema refuses it, so `request()` sends `clearance: 0` unless told otherwise;
# a policy that must error at evaluation time overflows a Long instead.
SCHEMA = """\
entity Group;
entity User in [Group] {
  clearance: Long,
  department?: String,
};
entity Domain { name: String };
entity DataProduct in [Domain] {
  domain: String,
  name: String,
  tags: Set<String>,
  classification: String,
  sensitivity: Long,
  labels: Set<String>,
  status: String,
};
entity Column in [DataProduct] {
  name: String,
  product: String,
  domain: String,
  tags: Set<String>,
  classification: String,
  sensitivity: Long,
  labels: Set<String>,
};
type RequestContext = { purpose?: String };
action read, write, export, share, delete appliesTo {
  principal: [User],
  resource: [DataProduct, Column],
  context: RequestContext,
};
"""

LEVELS = ["public", "internal", "confidential", "restricted"]
ACTIONS = ["read", "write", "export", "share", "delete"]


def fixed_clock(day: str | dt.date) -> Callable[[], dt.datetime]:
    """A clock frozen at noon UTC on `day` (`YYYY-MM-DD`)."""
    date = dt.date.fromisoformat(day) if isinstance(day, str) else day
    moment = dt.datetime(date.year, date.month, date.day, 12, 0, tzinfo=dt.UTC)
    return lambda: moment


def request(
    principal: str = "alice",
    action: str = "read",
    product: str = "sales.orders",
    *,
    groups: Iterable[str] = (),
    columns: Any = None,
    context: Mapping[str, Any] | None = None,
    clearance: Any = 0,
    **attributes: Any,
) -> dict[str, Any]:
    """An AuthZEN evaluation request; `columns=None` leaves the column list out (whole product)."""
    resource: dict[str, Any] = {"type": "DataProduct", "id": product}
    if columns is not None:
        resource["properties"] = {"columns": list(columns) if columns != "*" else "*"}
    return {
        "subject": {
            "type": "User",
            "id": principal,
            "properties": {"groups": list(groups), "clearance": clearance, **attributes},
        },
        "action": {"name": action},
        "resource": resource,
        "context": dict(context or {}),
    }


def column(name: str, classification: str | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "logicalType": "string", **extra}
    if classification is not None:
        spec["classification"] = classification
    return spec


class TreeBuilder:
    """Writes a minimal valid policy tree; add to it, then `engine()` or `load()` it."""

    def __init__(
        self,
        root: Path,
        *,
        levels: list[str] | None = None,
        actions: list[Any] | None = None,
        schema: str = SCHEMA,
        on_forbid_error: str | None = None,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.write(
            "governance.yaml",
            {
                "organisation": "Test Org",
                "classification": {"levels": levels or LEVELS},
                "actions": actions or ACTIONS,
                **({"on_forbid_error": on_forbid_error} if on_forbid_error else {}),
            },
        )
        self.write("schema.cedarschema", schema)
        (self.root / "global").mkdir(exist_ok=True)

    # -- raw files ------------------------------------------------------------------------------

    def write(self, relative: str, content: Any) -> Path:
        """Write `content` (text as is, dedented; anything else as YAML) to `root/relative`."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            text = textwrap.dedent(content)
        else:
            text = yaml.safe_dump(content, sort_keys=False, default_flow_style=False)
        path.write_text(text, encoding="utf-8")
        return path

    def rel(self, relative: str) -> str:
        """How the loader names a file in messages (absolute here: tmp_path is outside cwd)."""
        from governance.tree.load import display_path

        return display_path(self.root / relative)

    # -- layers ---------------------------------------------------------------------------------

    def layer_dir(self, layer: str) -> str:
        return "global" if layer == "global" else f"domains/{layer}"

    def domain(self, name: str, *, config: Mapping[str, Any] | None = None) -> TreeBuilder:
        self.write(f"domains/{name}/domain.yaml", dict(config or {"name": name, "owners": ["t"]}))
        return self

    def cedar(self, layer: str, text: str, name: str = "policies.cedar") -> Path:
        """Cedar policy text for a layer (the domain folder is created if needed)."""
        if layer != "global" and not (self.root / f"domains/{layer}/domain.yaml").exists():
            self.domain(layer)
        return self.write(f"{self.layer_dir(layer)}/access/{name}", text)

    def product(
        self,
        pid: str,
        columns: Iterable[str | Mapping[str, Any]] = (),
        *,
        domain: str | None = None,
        **fields: Any,
    ) -> Path:
        """An ODCS descriptor `products/<name>.yaml`; the domain is the id's prefix by default."""
        domain = domain or pid.split(".", 1)[0]
        if not (self.root / f"domains/{domain}/domain.yaml").exists():
            self.domain(domain)
        cols = [column(c) if isinstance(c, str) else dict(c) for c in columns]
        descriptor: dict[str, Any] = {
            "apiVersion": "v3.0.2",
            "kind": "DataContract",
            "id": pid,
            "name": pid.split(".", 1)[-1],
            "domain": domain,
            "status": "active",
        }
        descriptor.update(fields)
        if cols:
            descriptor["schema"] = [{"name": descriptor["name"], "properties": cols}]
        return self.write(f"domains/{domain}/products/{pid.split('.', 1)[-1]}.yaml", descriptor)

    def classification(self, layer: str, rules: Any) -> Path:
        content = rules if isinstance(rules, str) else {"rules": list(rules)}
        return self.write(f"{self.layer_dir(layer)}/classification.yaml", content)

    def retention(self, layer: str, rules: Any = (), holds: Iterable[Any] = ()) -> Path:
        if isinstance(rules, str):
            return self.write(f"{self.layer_dir(layer)}/retention.yaml", rules)
        content: dict[str, Any] = {"rules": list(rules)}
        if holds:
            content["holds"] = list(holds)
        return self.write(f"{self.layer_dir(layer)}/retention.yaml", content)

    def masking(self, layer: str, rules: Any = (), default: Any = None) -> Path:
        if isinstance(rules, str):
            return self.write(f"{self.layer_dir(layer)}/masking.yaml", rules)
        content: dict[str, Any] = {"rules": list(rules)}
        if default is not None:
            content["default"] = default
        return self.write(f"{self.layer_dir(layer)}/masking.yaml", content)

    def waivers(self, waivers: Any) -> Path:
        content = waivers if isinstance(waivers, str) else {"waivers": list(waivers)}
        return self.write("global/waivers.yaml", content)

    # -- using it -------------------------------------------------------------------------------

    def engine(
        self, *, clock: Callable[[], dt.datetime] | None = None, evaluator: str = "reference"
    ) -> Engine:
        return Engine.from_path(
            self.root, evaluator=evaluator, clock=clock or fixed_clock("2026-06-01")
        )  # type: ignore[arg-type]

    def load(self) -> Any:
        from governance.tree.load import load_tree

        return load_tree(self.root)


def errors(problems: Iterable[Any]) -> list[Any]:
    return [p for p in problems if p.severity == "error"]


def codes(problems: Iterable[Any]) -> list[str]:
    return [p.code for p in problems]
