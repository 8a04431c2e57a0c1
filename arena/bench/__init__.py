"""Throughput measurement of cells (the protocol shared by `benchmarks/` and `arena bench`)."""
