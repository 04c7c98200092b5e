"""The ``citylake`` command: ``citylake.cli.main`` assembles it from one module per command
group. The CLI is a composition root: it may import every stage and the demo city
generator (``generate``, ``sources serve`` and ``demo`` are the demo city's commands)."""
