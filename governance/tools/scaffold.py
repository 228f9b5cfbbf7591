"""`govern init`: a new domain folder that passes `govern check` as created.

It holds a domain.yaml, one ODCS product descriptor, a starter grant with an `@id` and a test
that exercises it, so a team starts from a green build and changes one thing at a time.
"""

from __future__ import annotations

import re
from pathlib import Path

from governance.errors import GovernanceError
from governance.tools.fmt import format_text
from governance.tree.layers import GLOBAL
from governance.tree.load import display_path, load_tree

DOMAIN_NAME = re.compile(r"[a-z][a-z0-9_]*")  # within what the loader accepts


class ScaffoldError(GovernanceError):
    """The domain cannot be created: bad name, no tree there, or the domain exists."""


def scaffold_domain(tree: Path, domain: str) -> list[str]:
    """Create `<tree>/domains/<domain>/`; returns the created files as displayed paths."""
    # The loader's rule (an identifier, never `global`), or the domain would fail its check
    if domain == GLOBAL or not DOMAIN_NAME.fullmatch(domain):
        raise ScaffoldError(
            f"domain name `{domain}` must start with a lower-case letter and use only "
            "lower-case letters, digits and `_`, and may not be `global`"
        )
    if not (tree / "governance.yaml").is_file():
        raise ScaffoldError(f"`{display_path(tree)}` is not a policy tree (no governance.yaml)")
    folder = tree / "domains" / domain
    if folder.exists():
        raise ScaffoldError(f"domain `{domain}` already exists at `{display_path(folder)}`")
    loaded, _ = load_tree(tree)
    levels = loaded.config.classification.levels if loaded else ["public", "internal"]
    level = levels[1] if len(levels) > 1 else levels[0]
    files = {
        "domain.yaml": _DOMAIN,
        "products/example.yaml": _PRODUCT.replace("{level}", level),
        "access/grants.cedar": format_text(_POLICY.replace("{domain}", domain)),
        "tests/access.yaml": _TEST,
    }
    created = []
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{domain}", domain), encoding="utf-8")
        created.append(display_path(path))
    return created


_DOMAIN = """\
# The {domain} domain: its owners and how to reach them.
name: {domain}
description: Data products of the {domain} domain
owners: [{domain}-data-team]
contact: {domain}-data@example.com
"""

_PRODUCT = """\
# A data product descriptor (ODCS v3 data contract). Rename it, describe the real columns,
# and give columns a `classification` where the global rules do not already set one.
apiVersion: v3.0.2
kind: DataContract
id: {domain}.example
name: example
version: 0.1.0
status: draft
domain: {domain}
dataProduct: Example
description:
  purpose: A first data product of the {domain} domain
tags: [example]
classification: {level}
schema:
  - name: example
    properties:
      - name: metric_date
        logicalType: date
      - name: metric_value
        logicalType: number
slaProperties:
  - property: retention
    value: 1
    unit: y
"""

_POLICY = """\
// {domain} domain grants. These policies only ever apply to {domain} products.

@id("data-team-read")
@reason("The {domain} data team may read every {domain} data product.")
permit (
  principal in Group::"{domain}-data-team",
  action == Action::"read",
  resource in Domain::"{domain}"
);
"""

_TEST = """\
# {domain} domain policy tests: run with `govern test` (and by `govern check`).
cases:
  - name: the {domain} data team reads its example product
    request:
      principal:
        type: User
        id: {domain}-engineer
        properties: {groups: [{domain}-data-team]}
      action: read
      product: {domain}.example
    expect:
      allowed: true
      kind: permitted
"""
