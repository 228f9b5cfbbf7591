"""The per-request access question: requests, answers, slices, plans and the two evaluators."""
