"""The package's public names are exactly `__all__`, and each resolves (httpx-style guard)."""

import governance

PUBLIC = {
    "AccessRequest", "AuthorizationResult", "BundleError", "CompileError", "CompiledPolicySet",
    "Decision", "Engine", "EntityStore", "GovernanceError", "LoadError", "Location", "Problem",
    "ReloadError", "RequestError", "compile_policies",
    # tooling: every problem of a tree, without raising
    "check_tree", "CheckReport",
    # the types of every Decision field
    "Access", "Kind", "PolicyRef", "PolicyError", "Mask", "ReasonCode", "OnForbidError",
    "Classified", "ProductClassification", "Retention", "ProductJson",
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


def test_every_decision_field_type_is_exported() -> None:
    import dataclasses
    import typing

    hints = typing.get_type_hints(governance.Decision)
    named = {f.name for f in dataclasses.fields(governance.Decision)}
    for name in named:
        for part in typing.get_args(hints[name]) or (hints[name],):
            kind = getattr(part, "__name__", None)
            module = getattr(part, "__module__", "")
            if module.startswith("governance"):
                assert kind in governance.__all__, (name, kind)


def test_check_tree_reports_every_problem_without_raising(tmp_path) -> None:
    (tmp_path / "governance.yaml").write_text("organisation: [unclosed\n")
    report = governance.check_tree(tmp_path, run_tests=False)
    assert report.exit_code == 1
    assert "yaml" in {p.code for p in report.problems}
    missing = governance.check_tree(tmp_path / "nowhere")
    assert [p.code for p in missing.problems] == ["not-found"]
