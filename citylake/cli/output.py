"""What every command shares: the console and the log format."""

from __future__ import annotations

import logging

from rich.console import Console

console = Console()


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
