"""Bulk SQL for the importer: the shared helpers of `agency.bulksql` (INSERT by COPY or
executemany, UPDATE … FROM (VALUES …) or executemany), under the names the importer uses."""

from agency.bulksql import (
    BATCH,
    PLAIN_TYPES,
    analyze_after_commit,
    db_value,
    insert_rows,
    insert_values,
    rows_by_keys,
    update_rows,
)
from agency.bulksql import is_postgresql as multi_row_values

__all__ = ["BATCH", "PLAIN_TYPES", "analyze_after_commit", "db_value", "insert_rows", "insert_values", "multi_row_values",
           "rows_by_keys", "update_rows"]
