"""Benchmarks of qsafecity: each measures against a baseline in the same run and reports a ratio."""
