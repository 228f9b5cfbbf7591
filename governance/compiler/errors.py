"""The evaluation error a compiled policy raises: Cedar's "this policy errored" signal."""

from __future__ import annotations

from governance.errors import GovernanceError


class EvaluationError(GovernanceError):
    """Evaluating one policy failed (missing attribute or entity, type error, overflow, bad
    extension argument); Cedar skips the policy and reports it as errored."""
