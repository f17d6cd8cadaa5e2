"""Approvals benchmarks (defined in approvals/benchmarks.py)."""

from approvals.benchmarks import run  # noqa: F401
