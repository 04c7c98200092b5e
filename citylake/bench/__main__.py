"""``python -m citylake.bench`` (``make bench``): the landing, warehouse and Spark benchmarks."""

from citylake.bench.landing import main

main()
