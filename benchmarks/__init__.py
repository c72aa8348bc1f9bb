"""Benchmarks: each compares qsafecity with a baseline in the same run and reports a ratio."""
