"""Benchmarks (``make bench`` → BENCHMARKS.md): landing vs DuckDB alone, the stream, entity
resolution. They generate demo cities, so like the CLI and tests they may import
``citylake.democity``; nothing in the platform imports them."""
