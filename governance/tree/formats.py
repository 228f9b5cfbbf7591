"""Pydantic models of every configuration file kind; validated once at load time, never per request."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from governance.tree.durations import Duration, parse_duration

OnExpiry = Literal["delete", "anonymize", "archive"]
IDENT = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"


def _as_list(value: Any) -> Any:
    """Accept a single string where a list of strings is expected."""
    return [value] if isinstance(value, str) else value


StrList = Annotated[list[str], BeforeValidator(_as_list)]


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


# --- domain.yaml -------------------------------------------------------------------------------


class DomainConfig(Strict):
    name: str = Field(pattern=IDENT)
    description: str = ""
    owners: StrList = []
    contact: str = ""


# --- products/*.yaml (ODCS v3 data contracts) --------------------------------------------------


class OdcsProperty(Lenient):
    name: str
    logicalType: str = ""
    classification: str | None = None
    tags: StrList = []
    properties: list[OdcsProperty] = []


class OdcsSchemaObject(Lenient):
    name: str
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
    domain: str
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


class FixturesFile(Strict):
    principals: dict[str, Persona] = {}
