"""Operating the server: Prometheus metrics, decision logging flushed on SIGTERM (exit 0),
signed bundles with live reload, size limits, several workers."""

from __future__ import annotations

import shutil
import signal
import time

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from governance.audit.verify import verify_logs
from governance.bundle.build import build_bundles
from governance.bundle.keys import load_private
from tests.server.conftest import ROOT, start, stop

DAVE = {
    "type": "User",
    "id": "dave",
    "properties": {"groups": ["hr-partners"], "clearance": 3, "employment": "employee"},
}
PERMIT = {
    "subject": DAVE,
    "action": {"name": "read"},
    "resource": {"type": "DataProduct", "id": "people.absences"},
    "context": {"purpose": "hr_administration"},
}
DENY = {**PERMIT, "context": {"purpose": "marketing"}}
TRUST = ROOT / "examples/keys/trust.yaml"
LAYERS = ("global", "finance", "marketing", "people", "sales")


def samples(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def until(predicate, attempts=100):
    """Poll a condition a bounded number of times (no timing is asserted)."""
    for _ in range(attempts):
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_metrics_count_decisions_by_effect_and_time_requests(server):
    before = samples(server)
    server.post("/access/v1/evaluation", json=PERMIT)
    server.post("/access/v1/evaluation", json=DENY)
    server.post("/access/v1/evaluations", json={"evaluations": [PERMIT, PERMIT, DENY]})
    server.post("/access/v1/evaluation", content=b"{", headers={"Content-Type": "application/json"})
    after = samples(server)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("govern_decisions_total", endpoint="evaluation", effect="allow") == 1
    assert delta("govern_decisions_total", endpoint="evaluation", effect="deny") == 1
    assert delta("govern_decisions_total", endpoint="evaluations", effect="allow") == 2
    assert delta("govern_decisions_total", endpoint="evaluations", effect="deny") == 1
    assert delta("govern_bad_requests_total", endpoint="evaluation") == 1
    assert delta("govern_request_duration_seconds_count", endpoint="evaluation") == 3
    assert delta("govern_request_duration_seconds_bucket", endpoint="evaluation", le="+Inf") == 3


def test_decision_log_is_flushed_on_sigterm_and_the_exit_is_clean(tmp_path):
    logs = tmp_path / "logs"
    process, url = start("--log", str(logs))
    ids = []
    with httpx.Client(base_url=url, timeout=10) as client:
        for body in (PERMIT, DENY, PERMIT):
            ids.append(client.post("/access/v1/evaluation", json=body).json()["context"]["id"])
        batch = client.post("/access/v1/evaluations", json={"evaluations": [PERMIT] * 5}).json()
        ids += [item["context"]["id"] for item in batch["evaluations"]]
        found = samples(client)
    assert value(found, "govern_decision_log_lost") == 0
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 0
    files = sorted(logs.glob("*.jsonl"))
    assert files
    logged = [
        orjson.loads(line).get("decision_id")
        for path in files
        for line in path.read_bytes().splitlines()
    ]
    assert set(ids) <= set(logged)
    assert verify_logs([logs]).ok


def test_bundles_serve_and_reload_live_with_refusals_reported(tmp_path):
    served = tmp_path / "served"
    shutil.copytree(ROOT / "bundles", served)
    process, url = start("--bundles", str(served), "--trust", str(TRUST), "--reload-interval", "1")
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            ready = client.get("/ready").json()
            first = ready["bundles"]["layers"]["people"]["sequence"]
            assert client.post("/access/v1/evaluation", json=PERMIT).json()["decision"] is True
            assert value(samples(client), "govern_bundle_sequence", layer="people") == first

            # a new people revision, signed by the people key: it activates without a restart
            tree = tmp_path / "tree"
            shutil.copytree(ROOT / "policies", tree)
            classification = tree / "domains/people/classification.yaml"
            classification.write_text(classification.read_text() + "\n# revised\n")
            keys = {
                layer: load_private(ROOT / "examples/keys" / f"{layer}.key") for layer in LAYERS
            }
            build_bundles(tree, served, keys, layers=["people"])
            assert until(
                lambda: (
                    client.get("/ready").json()["bundles"]["layers"]["people"]["sequence"] > first
                )
            )
            assert until(
                lambda: (
                    value(samples(client), "govern_bundle_reloads_total", result="activated") >= 1
                )
            )

            # a tampered bundle is refused and reported; the last good set keeps serving
            (served / "sales.tar.gz").write_bytes(b"not a bundle")
            assert until(lambda: client.get("/ready").json()["bundles"]["errors"])
            assert until(lambda: value(samples(client), "govern_bundle_errors") >= 1)
            assert value(samples(client), "govern_bundle_reloads_total", result="refused") >= 1
            assert client.post("/access/v1/evaluation", json=PERMIT).json()["decision"] is True
    finally:
        stop(process)


def test_serving_bundles_without_trust_is_refused_at_start():
    with pytest.raises(RuntimeError, match="--trust"):
        start("--bundles", str(ROOT / "bundles"))


def test_batch_and_body_limits_are_configurable():
    process, url = start("--max-batch", "3", "--max-body-bytes", "2048")
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            three = client.post("/access/v1/evaluations", json={"evaluations": [PERMIT] * 3})
            assert three.status_code == 200
            four = client.post("/access/v1/evaluations", json={"evaluations": [PERMIT] * 4})
            assert four.status_code == 400
            assert "limit 3" in four.json()["error"]
            big = client.post("/access/v1/evaluation", json={**PERMIT, "pad": "x" * 3000})
            assert big.status_code == 400
            trino = {
                "input": {
                    "context": {"identity": {"user": "alice", "groups": []}},
                    "action": {
                        "operation": "FilterCatalogs",
                        "filterResources": [{"catalog": {"name": f"c{i}"}} for i in range(4)],
                    },
                }
            }
            assert client.post("/v1/data/govern/trino/batch", json=trino).status_code == 400
    finally:
        stop(process)


def test_two_workers_share_one_metrics_view(tmp_path):
    process, url = start("--workers", "2", "--log", str(tmp_path / "logs"))
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            before = value(
                samples(client), "govern_decisions_total", endpoint="evaluation", effect="allow"
            )
            for _ in range(20):
                # a fresh connection each time, so both workers get some of the requests
                assert httpx.post(f"{url}/access/v1/evaluation", json=PERMIT).json()["decision"]
            after = value(
                samples(client), "govern_decisions_total", endpoint="evaluation", effect="allow"
            )
            assert after - before == 20
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    assert process.returncode == 0
    workers = [p for p in (tmp_path / "logs").iterdir() if p.name.startswith("worker-")]
    assert workers  # one hash chain per worker
    assert all(verify_logs([w]).ok for w in workers)
    assert sum(len(f.read_bytes().splitlines()) for w in workers for f in w.glob("*.jsonl")) >= 20
