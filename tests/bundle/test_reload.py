"""Live reload: reproducible builds, persistence across restarts, consistent sets under threads,
and polling over real HTTP (304, server down, garbage)."""

from __future__ import annotations

import http.server
import shutil
import threading
from pathlib import Path

import pytest

from governance.bundle import errors as E
from governance.bundle.build import build_bundles
from governance.bundle.keys import load_private
from governance.bundle.sources import HttpSource
from governance.bundle.trust import load_trust
from governance.engine import Engine
from tests.bundle.conftest import LAYERS, POLICIES
from tests.bundle.test_tamper import REQUEST

REPO = POLICIES.parent


def test_the_committed_demo_bundles_rebuild_byte_for_byte(tmp_path):
    keys = {layer: load_private(REPO / "examples/keys" / f"{layer}.key") for layer in LAYERS}
    # Built beside copies of the committed bundles: sequence numbers continue from them, so
    # unchanged sources must give the very same bytes.
    shutil.copytree(REPO / "bundles", tmp_path, dirs_exist_ok=True)
    build_bundles(POLICIES, tmp_path, keys)
    for layer in LAYERS:
        name = f"{layer}.tar.gz"
        assert (tmp_path / name).read_bytes() == (REPO / "bundles" / name).read_bytes(), name
    engine = Engine.from_bundles(
        REPO / "bundles", trust=load_trust(REPO / "examples/keys/trust.yaml")
    )
    assert engine.decide(REQUEST).allowed


def edited_tree(tmp_path: Path, marker: str) -> Path:
    tree = tmp_path / f"tree-{marker}"
    shutil.copytree(POLICIES, tree)
    for layer in ("global", "people"):
        folder = tree / "global" if layer == "global" else tree / "domains" / layer
        (folder / "classification.yaml").write_text(
            (folder / "classification.yaml").read_text() + f"\n# {marker}\n"
        )
    return tree


def test_restart_while_the_source_is_down_starts_from_the_persisted_set(served, trust, tmp_path):
    state = tmp_path / "state"
    first = Engine.from_bundles(served, trust=trust, state_dir=state)
    revisions = first.decide(REQUEST).to_dict()["revisions"]
    shutil.rmtree(served)
    restarted = Engine.from_bundles(served, trust=trust, state_dir=state)
    assert restarted.bundles is not None
    assert restarted.bundles.status.started_from_persisted
    assert "does not exist" in (restarted.bundles.status.last_error or "")
    assert restarted.decide(REQUEST).to_dict()["revisions"] == revisions
    with pytest.raises(E.SourceUnavailable):
        Engine.from_bundles(served, trust=trust)


def test_decisions_never_see_a_mixed_set_during_reloads(served, trust, keys, tmp_path):
    """Each round changes global and people together; every decision's pair of revisions must
    be one of the activated pairs, never one layer from one set and one from another."""
    engine = Engine.from_bundles(served, trust=trust)
    loader = engine.bundles
    assert loader is not None
    pairs = {tuple(sorted(engine.decide(REQUEST).to_dict()["revisions"].items()))}
    seen: set[tuple[tuple[str, str], ...]] = set()
    stop = threading.Event()

    def decide() -> None:
        while not stop.is_set():
            seen.add(tuple(sorted(engine.decide(REQUEST).to_dict()["revisions"].items())))

    threads = [threading.Thread(target=decide) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for round_ in range(4):
            tree = edited_tree(tmp_path, f"round-{round_}")
            build_bundles(tree, served, keys, layers=["global", "people"])
            assert loader.poll().activated == ("global", "people")
            pairs.add(tuple(sorted(engine.decide(REQUEST).to_dict()["revisions"].items())))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert len(pairs) == 5
    assert seen <= pairs


class _Server(http.server.ThreadingHTTPServer):
    mode = "serve"
    folder: Path


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        if self.server.mode == "garbage":
            self._send(200, b"<html>oops</html>", '"garbage"')
            return
        data = (self.server.folder / self.path.lstrip("/")).read_bytes()
        etag = f'"{hash(data) & 0xFFFFFFFF:x}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        self._send(200, data, etag)

    def _send(self, code: int, data: bytes, etag: str) -> None:
        self.send_response(code)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_polling_over_http_uses_etags_and_survives_down_and_garbage(served, trust, keys, tmp_path):
    server = _Server(("127.0.0.1", 0), _Handler)
    server.folder = served
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    source = HttpSource([f"{base}/{layer}.tar.gz" for layer in LAYERS], timeout=5)
    try:
        engine = Engine.from_bundles(source, trust=trust, state_dir=tmp_path / "state")
        loader = engine.bundles
        assert loader is not None
        before = engine.decide(REQUEST).to_dict()["revisions"]
        assert loader.poll().errors == () and source.not_modified == len(LAYERS)
        build_bundles(edited_tree(tmp_path, "http"), served, keys, layers=["people"])
        assert loader.poll().activated == ("people",)
        assert source.not_modified == 2 * len(LAYERS) - 1  # only people transferred again
        current = engine.decide(REQUEST).to_dict()["revisions"]
        assert current["people"] != before["people"]
        server.mode = "garbage"
        result = loader.poll()
        assert result.activated == () and all(
            isinstance(e, E.MalformedBundle) for e in result.errors
        )
        assert engine.decide(REQUEST).to_dict()["revisions"] == current
    finally:
        server.shutdown()
        server.server_close()
    down = loader.poll()
    assert [type(e) for e in down.errors] == [E.SourceUnavailable]
    assert engine.decide(REQUEST).to_dict()["revisions"] == current
    assert loader.status.last_error and "127.0.0.1" in loader.status.last_error
    restarted = Engine.from_bundles(
        HttpSource([f"{base}/global.tar.gz"], timeout=2), trust=trust, state_dir=tmp_path / "state"
    )
    assert restarted.decide(REQUEST).to_dict()["revisions"] == current


def test_decisions_from_bundles_name_their_files_inside_the_bundle():
    engine = Engine.from_bundles(
        REPO / "bundles", trust=load_trust(REPO / "examples/keys/trust.yaml")
    )
    decision = engine.decide(REQUEST).to_dict()
    sources = [p["source"] for p in decision["access"]["policies"]]
    sources += [s["source"] for s in decision["classification"]["sources"]]
    assert sources and all(s.startswith(("bundle:global/", "bundle:domains/")) for s in sources)


def test_a_newer_domain_bundle_reloads_that_domain_alone(served, trust, keys, tmp_path):
    """Polling in one newer domain bundle rebuilds that domain's plans only, and decides as a
    fresh load of the same bundles does."""
    engine = Engine.from_bundles(served, trust=trust)
    assert engine.bundles is not None
    tree = tmp_path / "tree"
    shutil.copytree(POLICIES, tree)
    policies = tree / "domains" / "people" / "access" / "extra.cedar"
    policies.write_text(
        '@id("extra")\n@reason("test")\n'
        'permit(principal in Group::"people-analysts", action == Action::"read", '
        'resource in Domain::"people");\n'
    )
    build_bundles(tree, served, keys)
    assert engine.bundles.poll().activated == ("people",)
    assert engine.snapshot.rebuilt == {"people"}
    fresh = Engine.from_bundles(served, trust=trust)
    for product in sorted(fresh.snapshot.products):
        for groups in ([], ["people-analysts"], ["sales-analysts"]):
            request = {
                "subject": {"type": "User", "id": "u", "properties": {"groups": groups}},
                "action": {"name": "read"},
                "resource": {"type": "DataProduct", "id": product},
                "context": {"purpose": "analytics"},
            }
            got, want = engine.decide(request).to_dict(), fresh.decide(request).to_dict()
            assert (got["access"], got["masks"]) == (want["access"], want["masks"])
