"""Tests of the compiled Cedar evaluator."""
