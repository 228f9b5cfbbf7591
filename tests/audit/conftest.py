"""A decision log written by the real engine over synthetic gateway traffic, shared by the audit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.audit.simulate import simulate

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SIMULATED = 3000


@pytest.fixture(scope="session")
def simulated_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 decisions over two days, rotated into several files."""
    directory = tmp_path_factory.mktemp("simulated-log")
    result = simulate(POLICIES, directory, SIMULATED, max_bytes=1 << 20)
    assert result.stats.written == SIMULATED and result.stats.lost == 0
    assert len(result.files) > 1
    return directory
