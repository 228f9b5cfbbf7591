"""Prometheus metrics of the server (prometheus_client), summed across workers when there are several.

With `--workers N` the workers are separate processes: `govern serve` points
PROMETHEUS_MULTIPROC_DIR at a private folder before they start, each writes its values there,
and whichever worker answers `/metrics` reads them all (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from governance.bundle.loader import PollResult
from governance.bundle.status import BundleStatus, TreeStatus
from governance.logs import LogStats
from governance.server.tree_watch import Outcome

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
# Decision endpoints answer in well under a millisecond to tens of milliseconds (batches).
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

DECISIONS = Counter(
    "govern_decisions", "Engine decisions, by endpoint and effect", ["endpoint", "effect"]
)
REQUESTS = Histogram(
    "govern_request_duration_seconds",
    "Time to answer a decision request, by endpoint",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)
BAD_REQUESTS = Counter(
    "govern_bad_requests", "Requests answered 400 or 401, by endpoint", ["endpoint"]
)
RELOADS = Counter(
    "govern_bundle_reloads",
    "Bundle polls, by result: activated (a newer set serves), unchanged, refused (a bundle "
    "failed verification; the last good set keeps serving)",
    ["result"],
)
BUNDLE_SEQUENCE = Gauge(
    "govern_bundle_sequence", "Sequence number of the active bundle, by layer", ["layer"],
    multiprocess_mode="max",
)  # fmt: skip
BUNDLE_ERRORS = Gauge(
    "govern_bundle_errors", "Bundles refused by the last poll", multiprocess_mode="max"
)
BUNDLE_ACTIVATED = Gauge(
    "govern_bundle_last_activation_timestamp_seconds",
    "When the serving bundle set was activated",
    multiprocess_mode="max",
)
POLICY_RELOADS = Counter(
    "govern_policy_reloads",
    "Checks of a served policy tree, by result: activated (an edit now serves), unchanged, "
    "refused (the edited tree did not load; the last good set keeps serving)",
    ["result"],
)
POLICY_ERRORS = Gauge(
    "govern_policy_errors",
    "Errors of the policy tree on disk while it does not load (0 when the served set is current)",
    multiprocess_mode="max",
)
POLICY_ACTIVATED = Gauge(
    "govern_policy_last_activation_timestamp_seconds",
    "When the serving policy tree was loaded",
    multiprocess_mode="max",
)
LOG_WRITTEN = Gauge(
    "govern_decision_log_written", "Decision records handed to the log sink",
    multiprocess_mode="livesum",
)  # fmt: skip
LOG_LOST = Gauge(
    "govern_decision_log_lost",
    "Decisions the log should have written and did not: queue full, masking failed, sink failed",
    multiprocess_mode="livesum",
)
LOG_DROPPED_FULL = Gauge(
    "govern_decision_log_dropped_full", "Decisions dropped because the log queue was full",
    multiprocess_mode="livesum",
)  # fmt: skip


def exposition() -> bytes:
    """The text exposition format of every metric, across workers in multiprocess mode."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def record_poll(result: PollResult, status: BundleStatus) -> None:
    outcome = "refused" if result.errors else "activated" if result.changed else "unchanged"
    RELOADS.labels(outcome).inc()
    record_bundles(status)


def record_bundles(status: BundleStatus) -> None:
    for layer, active in status.layers.items():
        BUNDLE_SEQUENCE.labels(layer).set(active.sequence)
    BUNDLE_ERRORS.set(len(status.errors))
    if status.last_activation is not None:
        BUNDLE_ACTIVATED.set(status.last_activation.timestamp())


def record_tree(outcome: Outcome | None, status: TreeStatus) -> None:
    """A policy tree check (`outcome`), or only the status (None, at start and shutdown)."""
    if outcome is not None:
        POLICY_RELOADS.labels(outcome).inc()
    POLICY_ERRORS.set(status.error_count)
    if status.last_activation is not None:
        POLICY_ACTIVATED.set(status.last_activation.timestamp())


def record_log(stats: LogStats) -> None:
    LOG_WRITTEN.set(stats.written)
    LOG_LOST.set(stats.lost)
    LOG_DROPPED_FULL.set(stats.dropped_full)
