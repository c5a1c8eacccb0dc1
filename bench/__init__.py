"""Benchmarks of the factpack build on a generated corpus (``make bench``; see docs/scaling.md)."""
