"""The package's public names are exactly `__all__`, and each resolves (httpx-style guard)."""

import governance

PUBLIC = {
    "AccessRequest", "AuthorizationResult", "BundleError", "CompileError", "CompiledPolicySet",
    "Decision", "Engine", "EntityStore", "GovernanceError", "LoadError", "Location", "Problem",
    "ReloadError", "RequestError", "compile_policies",
}  # fmt: skip


def test_all_is_the_public_api_and_resolves() -> None:
    assert set(governance.__all__) == PUBLIC
    for name in governance.__all__:
        assert getattr(governance, name) is not None, name


def test_standalone_cedar_api_from_the_top_level() -> None:
    policies = governance.compile_policies(
        'permit(principal == User::"a", action, resource);\nforbid(principal, action, resource) when { resource.x };'
    )
    store = governance.EntityStore.from_json(
        [{"uid": {"type": "Doc", "id": "d"}, "attrs": {}, "parents": []}]
    )
    result = policies.authorize(
        {"principal": {"type": "User", "id": "a"}, "action": {"type": "Action", "id": "read"},
         "resource": {"type": "Doc", "id": "d"}, "context": {}},
        store,
    )  # fmt: skip
    assert result.decision == "Allow"
    assert result.reasons == {"policy0"}
    assert result.errors == {"policy1"}  # `resource.x` is missing: errored, skipped
