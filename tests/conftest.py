"""Shared fixtures. Heavy components (Spark, Superset, a whole pipeline run) start once per session."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from citylake.settings import Settings

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

    from citylake.warehouse.spark_session import get_spark

    # py4j logs on shutdown, after pytest has closed the captured streams.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    session = get_spark("citylake-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def landed_city(tmp_path_factory: pytest.TempPathFactory) -> object:
    """A small generated city with every catalog source landed in bronze (one per session).

    The environment points at its home only while it is being made: tests get the
    Settings and pass them on.
    """
    import socket as _socket
    from datetime import date

    from citylake.catalog import default_catalog
    from citylake.democity import generate_city
    from citylake.democity.api_server import serve
    from citylake.orchestration.pipeline import ingest
    from citylake.settings import load_settings

    home = tmp_path_factory.mktemp("landed-city")
    with _socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CITYLAKE_HOME", str(home))
        patch.setenv("CITYLAKE_SOURCE_API_URL", f"http://127.0.0.1:{port}")
        settings = load_settings()
        generate_city(
            settings.sources_root,
            settings.truth_root,
            seed=11,
            days=7,
            start=date(2026, 9, 1),
            scale=0.1,
            settings=settings,
        )
        with serve(settings):
            for source_id in default_catalog():
                ingest(source_id, settings=settings, docs=False)
    return settings


@pytest.fixture(scope="session")
def built_city(landed_city: object) -> object:
    """``landed_city`` built by dbt on DuckDB (Spark outputs excluded) and published."""
    from citylake.orchestration import pipeline

    # The warehouse DAG's steps up to publish, without the Spark jobs (they have their own
    # session-wide tests): quality summary, dbt build, GX checkpoint on the marts, publish.
    for step in (
        pipeline.refresh_quality_summary,
        pipeline.dbt_build,
        pipeline.check_marts,
        pipeline.publish,
    ):
        step(landed_city)  # type: ignore[arg-type]
    return landed_city


# -- one whole city through real Airflow, shared by the pipeline and dashboard tests ----


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def pipeline_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    from citylake.democity.api_server import serve
    from citylake.settings import load_settings

    home: Path = tmp_path_factory.mktemp("citylake-home")
    with pytest.MonkeyPatch.context() as patch:
        # The DAG run is a subprocess: it inherits this environment.
        patch.setenv("CITYLAKE_HOME", str(home))
        # Airflow imported in this process (DagBag) must not write ~/airflow.
        patch.setenv("AIRFLOW_HOME", str(home / "airflow"))
        patch.setenv("CITYLAKE_SOURCE_API_URL", f"http://127.0.0.1:{free_port()}")
        # The warehouse DAG's roles step starts Superset: never on a developer's port.
        patch.setenv("CITYLAKE_SUPERSET_PORT", str(free_port()))
        settings = load_settings()
        # The departments' REST APIs answer the DAG's ingest tasks for the whole session.
        with serve(settings):
            yield settings


@pytest.fixture(scope="session")
def pipeline_run(pipeline_settings: Settings) -> dict:
    from citylake.democity import generate_city
    from citylake.orchestration.airflow_env import run_dags

    settings = pipeline_settings
    start = date(2026, 9, 1)
    generate_city(
        settings.sources_root, settings.truth_root, seed=7, days=28, start=start, scale=1.0
    )
    logical = start + timedelta(days=28)
    clock = time.perf_counter()
    runs = run_dags(None, [logical], settings)
    print(f"department DAGs + warehouse, first run: {time.perf_counter() - clock:.0f}s")
    return {"settings": settings, "logical_date": logical, "runs": runs}
