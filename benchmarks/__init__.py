"""Benchmarks of boundedactors against its baselines; run ``python -m benchmarks``."""
