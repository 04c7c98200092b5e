"""dbt-duckdb plugin: defines ``citylake_pseudonym`` on every connection and cursor.

Listed in profiles.yml (``plugins: - module: citylake.warehouse.duckdb_plugin``). DuckDB temporary
macros belong to one connection, and dbt-duckdb runs models on cursors (separate
connections), so the function is created on both. A missing key fails the connection,
hence the whole build, with a message saying what to set.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from citylake.serving.pseudonym import duckdb_function_sql, key_from_env


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._sql = duckdb_function_sql(key_from_env())

    def configure_connection(self, conn: Any) -> None:
        conn.execute(self._sql)

    def configure_cursor(self, cursor: Any) -> None:
        cursor.execute(self._sql)
