"""The server's limits (body size, items per batch) and the environment names workers read."""

from __future__ import annotations

from dataclasses import dataclass

OPTIONS_ENV = "GOVERN_SERVE_OPTIONS"  # how `govern serve` hands its options to each worker
TOKEN_ENV = "GOVERN_SERVE_TOKEN"
MAX_BODY_BYTES = 1_048_576
MAX_SUBJECTS = 10_000  # from decision logs: every subject search decides each candidate
MAX_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int = MAX_BODY_BYTES
    max_batch: int = MAX_BATCH  # evaluations, or Trino filterResources, in one request


DEFAULT_LIMITS = Limits()
