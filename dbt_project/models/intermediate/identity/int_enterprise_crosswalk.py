"""Every enterprise mention -> its unified enterprise (credit code, legacy registration
number, taxpayer number, normalized name), one row each; rules in
citylake.entities.enterprises.
"""


def model(dbt, session):
    dbt.config(materialized="table", schema="intermediate", tags=["entities", "duckdb_only"])
    from citylake.entities.enterprises import link_enterprises

    mentions = dbt.ref("int_enterprise_mentions").df()
    return link_enterprises(mentions)
