"""Spark tests run in local mode only under `make test-spark` (`pytest -m spark`); elsewhere they are skipped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.audit.conftest import simulated_log

__all__ = ["simulated_log"]  # the audit tests' decision log, shared


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "spark" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="Spark tests run with `make test-spark`")
    for item in items:
        if "spark" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    from governance.audit.spark import session

    found = session("govern-audit-tests", master="local[2]")
    found.sparkContext.setLogLevel("ERROR")
    yield found
    found.stop()
