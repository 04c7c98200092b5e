"""Entity resolution: one person, one record; one enterprise, one record.

* :mod:`.citizens`: deterministic links on a valid resident ID, Splink (probabilistic;
  the model in :mod:`.citizen_model`) links on name, birth date, gender, phone and
  address for mentions without one, and a clustering that never joins two different
  valid IDs;
* :mod:`.enterprises`: deterministic links on credit code, legacy registration number,
  the tax registration's district + organization code, and normalized name;
* :mod:`.evaluate`: pairwise precision / recall / F1 against the generator's truth;
* :mod:`.bench`: mentions linked per second at two scales.

The dbt Python models ``int_citizen_crosswalk`` / ``int_enterprise_crosswalk`` call the
linkers, so lineage stays in dbt; the golden records (``dim_citizen``, ``dim_enterprise``
and their restricted identity twins) are SQL models on top of the crosswalks.

Where Splink runs. On the DuckDB targets Splink uses its own in-memory DuckDB inside the
Python model, or the Spark session with ``CITYLAKE_ENTITY_BACKEND=spark``. dbt-spark's
``session`` method cannot run Python models, so the crosswalks are tagged ``duckdb_only``
and the Spark build links the mentions itself with Splink's Spark backend
(:mod:`.on_spark`), writes the crosswalks to the lake and builds the goldens, dimensions
and facts on them. From Python::

    from citylake.entities.citizen_model import spark_db_api
    from citylake.entities.citizens import link_citizens
    link_citizens(mentions, db_api_factory=lambda: spark_db_api(spark, checkpoint_dir))

(the deterministic steps and the clustering are plain pandas on the pairs Splink keeps).
"""
