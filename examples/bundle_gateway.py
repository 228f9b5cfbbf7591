"""A gateway-style loop over signed bundles: load, decide, refuse a tampered copy, keep serving.

Run from the repository root after `make demo`:  python examples/bundle_gateway.py
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from pathlib import Path

from governance.bundle.trust import load_trust
from governance.engine import Engine

REQUEST = {
    "subject": {"type": "User", "id": "dave",
                "properties": {"groups": ["hr-partners"], "clearance": 2, "employment": "employee"}},
    "action": {"name": "read"},
    "resource": {"type": "DataProduct", "id": "people.employees"},
    "context": {"purpose": "hr_administration"},
}  # fmt: skip


def tamper(path: Path) -> None:
    """Grant everyone everything in the people bundle, without its team's key."""
    with tarfile.open(path) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}  # type: ignore[union-attr]
    files["domains/people/access/grants.cedar"] += (
        b'\n@id("open")\npermit (principal, action, resource);\n'
    )
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(raw.getvalue())


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        served, state = Path(work) / "served", Path(work) / "state"
        shutil.copytree("bundles", served)
        engine = Engine.from_bundles(
            served, trust=load_trust("examples/keys/trust.yaml"), state_dir=state
        )
        assert engine.bundles is not None
        print("serving:", {k: v.sequence for k, v in engine.bundles.status.layers.items()})
        print("decision:", engine.decide(REQUEST).to_dict()["reason"])
        tamper(served / "people.tar.gz")
        result = engine.bundles.poll()
        print("tampered people bundle refused:", *(str(e) for e in result.errors))
        print("still serving:", engine.decide(REQUEST).to_dict()["reason"])
        print("status:", engine.bundles.status.to_dict()["last_error"])


if __name__ == "__main__":
    main()
