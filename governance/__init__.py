"""govern: federated policy-as-code governance for data mesh platforms."""

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
from governance.request import AccessRequest

__all__ = [
    "AccessRequest",
    "BundleError",
    "CompileError",
    "Decision",
    "Engine",
    "GovernanceError",
    "LoadError",
    "Location",
    "Problem",
    "ReloadError",
    "RequestError",
]
