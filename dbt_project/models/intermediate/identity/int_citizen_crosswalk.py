"""Every person mention -> its unified citizen (deterministic + Splink), one row each.

The linking lives in citylake.entities.citizens (documented there); Splink runs on its
own in-memory DuckDB so its scratch tables never land in the warehouse. dbt-spark's
session method cannot run Python models, so the entity models are tagged duckdb_only and
the Spark target skips them; the same Splink settings run on Splink's SparkAPI through
link_citizens(mentions, db_api_factory=...) (see citylake/entities/__init__.py).
"""


def model(dbt, session):
    dbt.config(materialized="table", schema="intermediate", tags=["entities", "duckdb_only"])
    from citylake.entities.citizens import link_citizens

    mentions = dbt.ref("int_person_mentions").df()
    # A licence names its legal representative, an inspection its contact, by name alone:
    # the enterprise crosswalk says at which enterprise to look for them
    # (citylake.entities.citizens.enterprise_links).
    firms = dbt.ref("int_enterprise_crosswalk").df()
    return link_citizens(
        mentions, firms=firms[["source_id", "record_key", "role", "enterprise_key"]]
    )
