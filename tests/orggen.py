"""Generated organisations: policy trees of any size, for differential tests and benchmarks."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ACTIONS = ["read", "write", "export", "share", "delete"]
PURPOSES = ["analytics", "reporting", "marketing", "support", "fraud_detection"]
LEVELS = ["public", "internal", "confidential", "restricted"]
COLUMN_NAMES = ["id", "email", "phone", "amount", "created_at", "salary", "iban", "status", "notes"]

SCHEMA = """
entity Group;
entity Domain { name: String };
entity User in [Group] { department?: String, clearance: Long, employment?: String, region?: String };
entity DataProduct in [Domain] {
  name: String, domain: String, status: String, tags: Set<String>,
  classification: String, sensitivity: Long, labels: Set<String>
};
entity Column in [DataProduct] {
  name: String, product: String, domain: String, tags: Set<String>,
  classification: String, sensitivity: Long, labels: Set<String>
};
type Ctx = { purpose?: String };
action read, write, export, share, delete appliesTo {
  principal: [User], resource: [DataProduct, Column], context: Ctx
};
"""

GLOBAL_CLASSIFICATION = {
    "rules": [
        {
            "id": "emails",
            "match": {"columns": ["*email*"]},
            "level": "confidential",
            "labels": ["pii"],
        },
        {
            "id": "phones",
            "match": {"columns": ["*phone*"]},
            "level": "confidential",
            "labels": ["pii"],
        },
        {
            "id": "money",
            "match": {"columns": ["*iban*", "*salary*"]},
            "level": "restricted",
            "labels": ["financial"],
        },
        {"id": "amounts", "match": {"columns": ["amount"]}, "level": "internal", "labels": []},
    ]
}
GLOBAL_RETENTION = {
    "rules": [
        {
            "id": "pii-max",
            "applies_to": {"labels": ["pii"]},
            "max": "P3Y",
            "on_expiry": "anonymize",
            "locked": True,
        },
        {
            "id": "financial-min",
            "applies_to": {"labels": ["financial"]},
            "min": "P7Y",
            "locked": True,
        },
        {"id": "default", "min": "P1Y", "max": "P5Y", "on_expiry": "delete"},
    ]
}


@dataclass
class OrgSpec:
    """What to write: global policies, and per domain its products and policies (Cedar text)."""

    global_policies: list[str] = field(default_factory=list)
    domains: dict[str, DomainSpec] = field(default_factory=dict)
    waivers: list[dict[str, object]] = field(default_factory=list)  # global/waivers.yaml


@dataclass
class DomainSpec:
    products: dict[str, list[str]] = field(default_factory=dict)  # product name -> column names
    policies: list[str] = field(default_factory=list)


def write_org(root: Path, spec: OrgSpec) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    _dump(
        root / "governance.yaml",
        {"organisation": "Generated", "actions": ACTIONS, "context": {"purpose": PURPOSES}},
    )
    (root / "schema.cedarschema").write_text(SCHEMA)
    _dump(root / "global/classification.yaml", GLOBAL_CLASSIFICATION)
    _dump(root / "global/retention.yaml", GLOBAL_RETENTION)
    _write_policies(root / "global/access/policies.cedar", spec.global_policies)
    if spec.waivers:
        _dump(root / "global/waivers.yaml", {"waivers": spec.waivers})
    for name, domain in spec.domains.items():
        folder = root / "domains" / name
        _dump(folder / "domain.yaml", {"name": name, "owners": [f"{name}-team"]})
        for product, columns in domain.products.items():
            _dump(folder / "products" / f"{product}.yaml", _descriptor(name, product, columns))
        _write_policies(folder / "access/policies.cedar", domain.policies)
    return root


def _descriptor(domain: str, product: str, columns: list[str]) -> dict[str, object]:
    return {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": f"{domain}.{product}",
        "name": product,
        "domain": domain,
        "tags": ["generated"],
        "schema": [
            {"name": product, "properties": [{"name": c, "logicalType": "string"} for c in columns]}
        ],
    }


def _write_policies(path: Path, policies: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(policies) + "\n")


def _dump(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


# --- a realistic large organisation, for benchmarks ------------------------------------------------


def large_org(domains: int, policies: int, products_per_domain: int = 5, seed: int = 7) -> OrgSpec:
    """`policies` access policies spread over `domains` domains (plus a fixed global layer)."""
    rng = random.Random(seed)
    spec = OrgSpec(global_policies=list(GLOBAL_GUARDRAILS))
    remaining = max(domains, policies - len(GLOBAL_GUARDRAILS))
    for d in range(domains):
        name = f"d{d:03d}"
        count = remaining // domains + (1 if d < remaining % domains else 0)
        products = {f"p{p}": rng.sample(COLUMN_NAMES, 5) for p in range(products_per_domain)}
        spec.domains[name] = DomainSpec(
            products, [_domain_policy(rng, name, products, i) for i in range(count)]
        )
    return spec


GLOBAL_GUARDRAILS = [
    '@id("no-restricted-export")\n@reason("restricted data never leaves")\n'
    'forbid(principal, action in [Action::"export", Action::"share"], resource)\n'
    "when { resource.sensitivity >= 3 };",
    '@id("pii-purpose")\n@reason("personal data only for approved purposes")\n'
    'forbid(principal, action == Action::"read", resource)\n'
    'when { resource.labels.contains("pii") && !(context has purpose && '
    '["analytics", "support", "fraud_detection"].contains(context.purpose)) };',
    '@id("contractor-confidential")\n@reason("contractors see internal data at most")\n'
    "forbid(principal, action, resource)\n"
    'when { principal has employment && principal.employment == "contractor" && resource.sensitivity >= 2 };',
    '@id("stewards-read")\n@reason("stewards read everything")\n'
    'permit(principal in Group::"data-stewards", action == Action::"read", resource);',
]


def _domain_policy(
    rng: random.Random, domain: str, products: dict[str, list[str]], index: int
) -> str:
    group = f'Group::"{domain}-g{rng.randrange(8)}"'
    action = rng.choice(ACTIONS)
    product = rng.choice(list(products))
    shape = rng.randrange(4)
    if shape == 0:
        body = f'permit(principal in {group}, action == Action::"{action}", resource in Domain::"{domain}");'
    elif shape == 1:
        body = (
            f'permit(principal in {group}, action == Action::"{action}", '
            f'resource in DataProduct::"{domain}.{product}")\nwhen {{ resource.sensitivity <= 2 }};'
        )
    elif shape == 2:
        body = (
            f'permit(principal, action == Action::"{action}", resource in Domain::"{domain}")\n'
            f'when {{ principal has department && principal.department == "{domain}" && '
            f'context has purpose && context.purpose == "{rng.choice(PURPOSES)}" }};'
        )
    else:
        body = (
            f'forbid(principal, action == Action::"{action}", resource in DataProduct::"{domain}.{product}")\n'
            f"unless {{ principal in {group} }};"
        )
    return f'@id("rule-{index}")\n@reason("generated rule {index}")\n{body}'


def one_domain_org(policies: int, products: int = 5, seed: int = 11) -> OrgSpec:
    """Every access policy in one domain, `big`: one grant per group (`big-g0` ... on read, a
    few on other actions), beside the global guardrails. Without an index a decision here is
    linear in the domain's policies."""
    rng = random.Random(seed)
    tables = {f"p{p}": rng.sample(COLUMN_NAMES, 5) for p in range(products)}
    grants = [
        f'@id("grant-{i}")\n@reason("group {i} reads the domain")\n'
        f'permit(principal in Group::"big-g{i}", action == Action::"{ACTIONS[i % 3]}", '
        'resource in Domain::"big");'
        for i in range(max(1, policies - len(GLOBAL_GUARDRAILS)))
    ]
    return OrgSpec(list(GLOBAL_GUARDRAILS), {"big": DomainSpec(tables, grants)})


WAIVABLE_GUARDRAIL = (
    '@id("no-pii-export")\n@reason("personal data is not exported")\n@waivable("true")\n'
    'forbid(principal, action == Action::"export", resource)\n'
    'when { resource.labels.contains("pii") };'
)
WAIVED_GROUP = "big-g0"  # the group the first waivers of a waiver organisation name
HOT_WAIVERS = 3  # waivers the same in every waiver organisation, whatever its size


def waivers_org(waivers: int, products: int = 20, seed: int = 13) -> OrgSpec:
    """One domain, `big`, of a few grants, and `waivers` waivers of its waivable guardrail
        (`no-pii-export`), each for a product or two and an action or two, some already expired,
        the way a busy domain accumulates them. The first `HOT_WAIVERS` name `WAIVED_GROUP` and are
        the same whatever `waivers` is (every product); each later one names a group or a principal
    of its own.
        Without an index, a request scans them all."""
    rng = random.Random(seed)
    spec = one_domain_org(10, products=products, seed=seed)
    spec.global_policies.append(WAIVABLE_GUARDRAIL)
    names = [f"big.p{p}" for p in range(products)]
    for i in range(waivers):
        narrowing: dict[str, object] = (
            {"groups": [WAIVED_GROUP if i < HOT_WAIVERS else f"waived-g{i}"]}
            if i < HOT_WAIVERS or i % 2 == 0
            else {"principals": [f"user{i}"]}
        )
        spec.waivers.append({
            "id": f"waiver-{i}", "policy": "global/no-pii-export", "domain": "big",
            **narrowing,
            "products": rng.sample(names, rng.randint(1, 2)) if i >= HOT_WAIVERS else ["big.*"],
            "actions": rng.sample(["export", "read"], rng.randint(1, 2)),
            "reason": f"generated waiver {i}", "approver": "dpo@example.org",
            "ticket": f"GOV-{i}", "expires": "2020-01-01" if i % 5 == 4 else "2999-12-31",
        })  # fmt: skip
    return spec
