"""govern: federated policy-as-code governance for data mesh platforms."""

from governance.access.answer import Access, Kind, OnForbidError, PolicyError, PolicyRef
from governance.access.request import AccessRequest
from governance.compiler import (
    AuthorizationResult,
    CompiledPolicySet,
    EntityStore,
    compile_policies,
)
from governance.decision import Decision, Mask, ReasonCode
from governance.engine import Engine
from governance.errors import (
    BundleError,
    CompileError,
    GovernanceError,
    LoadError,
    Location,
    Problem,
    ReloadError,
    RequestError,
)
from governance.rules.classification import Classified, ProductClassification
from governance.rules.encoded import ProductJson
from governance.rules.retention import Retention
from governance.tools.check import CheckReport, check_tree

__all__ = [
    "Access",
    "AccessRequest",
    "AuthorizationResult",
    "BundleError",
    "CheckReport",
    "Classified",
    "CompileError",
    "CompiledPolicySet",
    "Decision",
    "Engine",
    "EntityStore",
    "GovernanceError",
    "Kind",
    "LoadError",
    "Location",
    "Mask",
    "OnForbidError",
    "PolicyError",
    "PolicyRef",
    "Problem",
    "ProductClassification",
    "ProductJson",
    "ReasonCode",
    "ReloadError",
    "RequestError",
    "Retention",
    "check_tree",
    "compile_policies",
]
