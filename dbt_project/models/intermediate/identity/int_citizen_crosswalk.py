"""Every person mention -> its unified citizen (deterministic + Splink), one row each.

The linking lives in citylake.entities.citizens (documented there); Splink runs on its
own in-memory DuckDB, so its scratch tables never land in the warehouse, or on the Spark
session with CITYLAKE_ENTITY_BACKEND=spark. dbt-spark's session method cannot run Python
models: the crosswalks are tagged duckdb_only, and the Spark build links the mentions on
Spark itself between two dbt invocations (citylake/entities/on_spark.py).
"""


def model(dbt, session):
    dbt.config(materialized="table", schema="intermediate", tags=["entities", "duckdb_only"])
    from citylake.entities.citizens import link_citizens
    from citylake.settings import load_settings
    from citylake.warehouse.entity_backend import splink_backend

    mentions = dbt.ref("int_person_mentions").df()
    # A licence names its legal representative, an inspection its contact, by name alone:
    # the enterprise crosswalk says at which enterprise to look for them
    # (citylake.entities.citizens.enterprise_links).
    firms = dbt.ref("int_enterprise_crosswalk").df()
    return link_citizens(
        mentions,
        # Splink in process, or on Spark (CITYLAKE_ENTITY_BACKEND=spark).
        db_api_factory=splink_backend(load_settings()),
        firms=firms[["source_id", "record_key", "role", "enterprise_key"]],
    )
