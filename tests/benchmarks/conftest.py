"""The generated organisations every benchmark module shares, written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.orggen import large_org, one_domain_org, waivers_org, write_org

EXAMPLE = Path(__file__).resolve().parents[2] / "policies"
SIZES = [10, 100, 1000, 10000]  # access policies, spread over policies/10 domains
ONE_DOMAIN = [10, 1000, 10000]  # access policies, all in one domain


@pytest.fixture(scope="session")
def orgs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("orgs")
    found = {"example": EXAMPLE}
    for size in SIZES:
        found[str(size)] = write_org(
            root / str(size), large_org(domains=max(1, size // 10), policies=size)
        )
    return found


@pytest.fixture(scope="session")
def one_domain_orgs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("one-domain")
    return {size: write_org(root / str(size), one_domain_org(size)) for size in ONE_DOMAIN}


WAIVERS = [3, 1000]  # waivers of one domain


@pytest.fixture(scope="session")
def waiver_orgs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("waivers")
    return {size: write_org(root / str(size), waivers_org(size)) for size in WAIVERS}
