"""Orchestration: where the stages meet.

``pipeline`` (every pipeline step as one function, ``WAREHOUSE_STEPS``), ``stream`` (the
MQTT stream landing through ``LandingRun``), ``dag_plan`` (DAG layout from the catalog,
no Airflow import), ``dag_runner`` / ``airflow_env`` (running DAGs through Airflow, its
environment and pools) and ``services`` (``make up/down``). It may import every stage,
``quality`` and ``transforms``; only the CLI, the DAG files and the benchmarks import it.
"""
