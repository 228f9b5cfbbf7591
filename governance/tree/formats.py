"""Pydantic models of every configuration file kind; validated once at load time, never per request."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from governance.tree.durations import Duration, parse_duration

OnExpiry = Literal["delete", "anonymize", "archive"]
IDENT = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"


def _as_list(value: Any) -> Any:
    """Accept a single string where a list of strings is expected."""
    return [value] if isinstance(value, str) else value


StrList = Annotated[list[str], BeforeValidator(_as_list)]


def plain_json(value: Any) -> Any:
    """The same data in plain dicts and lists. The loader's located containers are subclasses,
    which readers that test exact types (the request reader's fast path) send the slow way."""
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_json(item) for item in value]
    return value


class Strict(BaseModel):
    """Unknown keys are errors: a typo must not silently disable a rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Lenient(BaseModel):
    """ODCS documents carry many fields govern does not use; they are kept, not rejected."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


# --- governance.yaml ---------------------------------------------------------------------------


class ActionSpec(Strict):
    name: str = Field(pattern=IDENT)
    parents: StrList = []


class ClassificationScale(Strict):
    levels: StrList = ["public", "internal", "confidential", "restricted"]

    @field_validator("levels")
    @classmethod
    def _distinct(cls, levels: list[str]) -> list[str]:
        if len(set(levels)) != len(levels) or not levels:
            raise ValueError("levels must be a non-empty list of distinct names")
        return levels


class GovernanceConfig(Strict):
    organisation: str = "unnamed organisation"
    classification: ClassificationScale = ClassificationScale()
    # A bare name is checked like ActionSpec.name, at load, not when the actions are first used.
    actions: list[ActionSpec | Annotated[str, Field(pattern=IDENT)]] = [
        "read",
        "write",
        "export",
        "share",
        "delete",
    ]
    context: dict[str, list[Any]] = {}
    # An errored forbid denies (`deny`), or takes no part as in Cedar (`skip`); docs/combining.md.
    on_forbid_error: Literal["deny", "skip"] = "deny"

    def action_specs(self) -> list[ActionSpec]:
        return [a if isinstance(a, ActionSpec) else ActionSpec(name=a) for a in self.actions]


# --- classification.yaml -----------------------------------------------------------------------


class ClassificationMatch(Strict):
    columns: StrList = []
    tags: StrList = []
    products: StrList = []
    product_tags: StrList = []


class ClassificationRule(Strict):
    id: str = Field(pattern=IDENT)
    description: str = ""
    match: ClassificationMatch
    level: str
    labels: StrList = []


class ClassificationFile(Strict):
    rules: list[ClassificationRule] = []


# --- retention.yaml ----------------------------------------------------------------------------


class Selector(Strict):
    domains: StrList = []
    products: StrList = []
    tags: StrList = []
    labels: StrList = []
    min_classification: str | None = None


def _duration(value: Any) -> Duration | None:
    return None if value is None else parse_duration(value)


DurationField = Annotated[Duration | None, BeforeValidator(_duration)]


class RetentionRule(Strict):
    id: str = Field(pattern=IDENT)
    description: str = ""
    applies_to: Selector = Selector()
    min: DurationField = None
    max: DurationField = None
    on_expiry: OnExpiry | None = None
    locked: bool = False

    @field_validator("max")
    @classmethod
    def _has_a_bound(cls, value: Duration | None, info: Any) -> Duration | None:
        if value is None and info.data.get("min") is None:
            raise ValueError("a retention rule needs `min`, `max` or both")
        return value


class LegalHold(Strict):
    id: str = Field(pattern=IDENT)
    applies_to: Selector = Selector()
    reason: str
    ticket: str = ""
    since: str = ""


class RetentionFile(Strict):
    rules: list[RetentionRule] = []
    holds: list[LegalHold] = []


# --- waivers.yaml ------------------------------------------------------------------------------


class Waiver(Strict):
    id: str = Field(pattern=IDENT)
    policy: str
    domain: str
    principals: StrList = []
    groups: StrList = []
    products: StrList = []
    actions: StrList = []
    reason: str
    approver: str
    ticket: str = ""
    expires: dt.date


class WaiversFile(Strict):
    waivers: list[Waiver] = []


# --- masking.yaml ------------------------------------------------------------------------------

StrategyName = Literal["null", "redact", "hash", "partial", "truncate"]
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
# Which parameters each strategy takes; any other is an error, so a typo cannot weaken a mask.
STRATEGY_PARAMS: dict[str, frozenset[str]] = {
    "null": frozenset(),
    "redact": frozenset({"text"}),
    "hash": frozenset({"key_env"}),
    "partial": frozenset({"keep", "chars"}),
    "truncate": frozenset({"unit"}),
}


def _null_strategy(value: Any) -> Any:
    """YAML reads a bare `null` as None; here it names the strictest strategy, not a missing one."""
    return "null" if value is None else value


class StrategySpec(Strict):
    """How a masked column is rewritten; only the parameters of the named strategy may be set."""

    strategy: Annotated[StrategyName, BeforeValidator(_null_strategy)]
    text: str | None = Field(default=None, max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")
    key_env: str | None = Field(default=None, pattern=ENV_NAME, max_length=64)
    keep: Literal["first", "last"] | None = None
    chars: int | None = Field(default=None, ge=1, le=64)
    unit: Literal["year", "month"] | None = None

    @model_validator(mode="after")
    def _parameters_fit(self) -> StrategySpec:
        allowed = STRATEGY_PARAMS[self.strategy]
        given = {
            name
            for name in ("text", "key_env", "keep", "chars", "unit")
            if getattr(self, name) is not None
        }
        stray = sorted(given - allowed)
        if stray:
            raise ValueError(f"strategy `{self.strategy}` takes no `{'`, `'.join(stray)}`")
        if self.strategy == "partial" and self.chars is None:
            raise ValueError("strategy `partial` needs `chars` (how many characters to keep)")
        return self


class MaskingMatch(Strict):
    """Every condition given must hold; within one, any listed value matches."""

    labels: StrList = []
    levels: StrList = []
    min_level: str | None = None
    columns: StrList = []
    products: StrList = []


class MaskingRule(StrategySpec):
    id: str = Field(pattern=IDENT)
    description: str = ""
    match: MaskingMatch


class MaskingFile(Strict):
    default: StrategySpec | None = None
    rules: list[MaskingRule] = []


# --- domain.yaml -------------------------------------------------------------------------------


class DomainConfig(Strict):
    name: str = Field(pattern=IDENT)
    description: str = ""
    owners: StrList = []
    contact: str = ""


# --- products/*.yaml (ODCS v3 data contracts) --------------------------------------------------


class OdcsItems(Lenient):
    """What an array property holds: scalars, or objects with properties of their own."""

    logicalType: str = ""
    classification: str | None = None
    tags: StrList = []
    properties: list[OdcsProperty] = []
    items: OdcsItems | None = None


class OdcsProperty(OdcsItems):
    name: str


class OdcsSchemaObject(Lenient):
    name: str
    physicalName: str | None = None
    classification: str | None = None
    tags: StrList = []
    properties: list[OdcsProperty] = []


class OdcsDescription(Lenient):
    purpose: str = ""
    usage: str = ""
    limitations: str = ""


class OdcsSlaProperty(Lenient):
    property: str
    value: Any = None
    unit: str | None = None


class ProductDescriptor(Lenient):
    id: str = Field(min_length=1)
    name: str = ""
    domain: str | None = None  # optional in ODCS: the folder says which domain
    status: str = "active"
    dataProduct: str = ""
    description: OdcsDescription | str = OdcsDescription()
    tags: StrList = []
    classification: str | None = None
    schema_: list[OdcsSchemaObject] = Field(default=[], alias="schema")
    slaProperties: list[OdcsSlaProperty] = []

    @property
    def purpose(self) -> str:
        return self.description if isinstance(self.description, str) else self.description.purpose


# --- fixtures.yaml -----------------------------------------------------------------------------


class Persona(Strict):
    type: str = "User"
    id: str
    properties: dict[str, Any] = {}

    @field_validator("properties")
    @classmethod
    def _plain(cls, value: dict[str, Any]) -> dict[str, Any]:
        plain: dict[str, Any] = plain_json(value)
        return plain


class FixturesFile(Strict):
    principals: dict[str, Persona] = {}
