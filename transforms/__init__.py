"""Spark jobs: each module has a pure DataFrame function and a thin ``main`` for Airflow."""
