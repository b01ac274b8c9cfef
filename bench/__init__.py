"""Benchmarks: `make bench` writes their results to bench/results/."""
