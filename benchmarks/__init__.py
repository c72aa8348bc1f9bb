"""Benchmarks: each compares qsafecity against a baseline measured in the same run."""
