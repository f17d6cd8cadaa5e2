"""Bulk SQL for the importer: the shared helpers of `agency.bulksql` (INSERT by COPY or
executemany, UPDATE … FROM (VALUES …) or executemany), under the names the importer uses."""

from agency.bulksql import BATCH, PLAIN_TYPES, db_value, insert_rows, update_rows
from agency.bulksql import is_postgresql as multi_row_values

__all__ = ["BATCH", "PLAIN_TYPES", "db_value", "insert_rows", "multi_row_values", "update_rows"]
