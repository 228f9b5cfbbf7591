"""govern: federated policy-as-code governance for data mesh platforms."""

from governance.access.request import AccessRequest
from governance.compiler import (
    AuthorizationResult,
    CompiledPolicySet,
    EntityStore,
    compile_policies,
)
from governance.decision import Decision
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

__all__ = [
    "AccessRequest",
    "AuthorizationResult",
    "BundleError",
    "CompileError",
    "CompiledPolicySet",
    "Decision",
    "Engine",
    "EntityStore",
    "GovernanceError",
    "LoadError",
    "Location",
    "Problem",
    "ReloadError",
    "RequestError",
    "compile_policies",
]
