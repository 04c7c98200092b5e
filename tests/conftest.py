"""Shared fixtures. Heavy components (Spark, Superset, a whole pipeline run) start once per session."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_service(name: str, host: str, port: int) -> None:
    """Fail under CI, skip (saying why) elsewhere, when a loopback service is unreachable."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        reason = f"{name} not reachable on {host}:{port} ({exc})"
        if IN_CI:
            pytest.fail(f"{reason}; CI must have it running")
        print(f"SKIP: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where tests leave artefacts worth looking at (screenshots, reports)."""
    path = Path(__file__).resolve().parents[1] / "test-output"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    """One Spark session for the whole test run: it takes ~10 s to start."""
    import logging

    from citylake.spark import get_spark

    # py4j logs on shutdown, after pytest has closed the captured streams.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    session = get_spark("citylake-tests")
    yield session
    session.stop()
