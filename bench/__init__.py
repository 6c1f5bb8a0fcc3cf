"""Benchmarks for PTSA Hub (not tests): fan-out latency, cost per delivery, memory per connection.

Entry point: ``python -m bench.fanout --help``. Method and figures: docs/BENCHMARKS.md.
"""
