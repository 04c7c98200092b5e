"""``python -m citylake.bench`` (``make bench``): the landing, warehouse, Spark and forecasting benchmarks."""

from citylake.bench.run import main

main()
