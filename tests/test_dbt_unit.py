"""dbt's unit tests (the staging models' worked identity examples) against a built city.

They run after a build rather than inside it: dbt introspects the bronze relations a
unit test's ``given`` names, and a fresh build file has none until the build made them.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_dbt_unit_tests_pass(built_city: object) -> None:
    from citylake import warehouse

    result = warehouse.run_dbt(["test", "--select", "test_type:unit"], built_city)  # type: ignore[arg-type]
    # Two unit tests today (taxpayer checksums, household-member normalization); a
    # selection that ran none would prove nothing.
    assert result.tests_passed >= 2, result
    assert result.tests_failed == 0, result
