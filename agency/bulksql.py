"""Bulk SQL on PostgreSQL and SQLite, below the ORM: INSERT by COPY (PostgreSQL) or
executemany (SQLite), UPDATE … FROM (VALUES …) in one statement per batch. Shared by the
importer (`agency/importers/bulk.py`) and the pre-checks (`shutdown/services/precheck.py`).

Identifiers and types come from the model's metadata; values are always parameters. No
signals are sent (like bulk_create / bulk_update), primary keys are not returned. Every
UPDATE is bounded to one agency (`agency_id = %s`): these helpers never cross tenants.
"""

import enum
import json
import sqlite3
import time

from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.utils import timezone

BATCH = 1000  # rows per statement (or per COPY) for model instances
PG_MAX_PARAMS = 65535  # PostgreSQL's bind-parameter limit per statement

# Types whose values PostgreSQL takes as one array parameter per column (update_values: unnest).
ARRAY_TYPES = {"CharField", "TextField", "BooleanField", "IntegerField", "PositiveIntegerField", "BigIntegerField",
               "SmallIntegerField", "PositiveSmallIntegerField", "ForeignKey", "DateTimeField", "DateField"}

PLAIN_TYPES = {  # internal type → the Python type its get_db_prep_save returns unchanged
    "CharField": str, "TextField": str, "BooleanField": bool, "PositiveIntegerField": int, "IntegerField": int,
    "ForeignKey": int,
}

_PLAIN_PRE_SAVE = {models.Field.pre_save, models.DateField.pre_save, models.DateTimeField.pre_save}


def db_value(field, value):
    """field.get_db_prep_save(value), skipping the call for plain values that it returns as they are."""
    if value is None and field.null:
        return None
    if type(value) is PLAIN_TYPES.get(field.get_internal_type()):
        return value
    if isinstance(value, enum.Enum):  # TextChoices/IntegerChoices members: their value
        value = value.value
    return field.get_db_prep_save(value, connection)


def _computed_on_save(field) -> bool:
    """Whether field.pre_save(obj, add) may differ from the attribute (auto_now, files…)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return True
    return type(field).pre_save not in _PLAIN_PRE_SAVE


def is_postgresql() -> bool:
    """PostgreSQL runs one statement with many rows far faster than executemany (a round of
    statement processing per row); SQLite runs executemany fastest."""
    return connection.vendor == "postgresql"


def max_params() -> int:
    if is_postgresql():
        return PG_MAX_PARAMS
    connection.ensure_connection()
    try:
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # pragma: no cover - Python < 3.11
        return 999


def rows_per_statement(params_per_row: int, extra: int = 0) -> int:
    return max(1, (max_params() - extra - 1) // max(params_per_row, 1))


def _cast(field) -> str:
    """A cast for a VALUES column on PostgreSQL (parameters arrive as text/unknown or a narrower type)."""
    return f"::{field.cast_db_type(connection)}" if is_postgresql() else ""


def _values_table(rows: list, width: int) -> str:
    """`(SELECT column1 AS c0, … FROM (VALUES (%s, …), …) AS x)`: VALUES columns are named
    column1, column2 … on both PostgreSQL and SQLite."""
    row = "(" + ", ".join(["%s"] * width) + ")"
    names = ", ".join(f"column{i + 1} AS c{i}" for i in range(width))
    return f"(SELECT {names} FROM (VALUES {', '.join([row] * len(rows))}) AS x)"  # noqa: S608 - placeholders only


def _log_copy(table: str, columns: str, count: int, started: float) -> None:
    """COPY goes around Django's debug cursor: log it like a query, so query counts stay honest."""
    if connection.queries_logged:
        connection.queries_log.append({"sql": f"COPY {table} ({columns}) FROM STDIN -- {count} rows",
                                       "time": f"{time.monotonic() - started:.3f}"})


# --- INSERT -----------------------------------------------------------------------------------------
def insert_values(model, names: list[str], rows: list[tuple | list], *, prepared: bool = False) -> int:
    """INSERT rows given as tuples of the fields `names` (attnames, e.g. `item_id`); the other
    concrete fields get their default (auto_now/auto_now_add: now), computed once. `prepared`:
    the values are already what the database takes (no get_db_prep_save per value).
    COPY on PostgreSQL, executemany on SQLite. Returns the number of rows."""
    if not rows:
        return 0
    meta = model._meta
    by_attname = {f.attname: f for f in meta.concrete_fields}
    given = [by_attname[n] for n in names]
    given_names = {f.attname for f in given}
    now = timezone.now()
    rest = []
    for f in meta.concrete_fields:
        if f.primary_key or f.attname in given_names:
            continue
        value = now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default()
        rest.append((f, db_value(f, value)))
    fields = given + [f for f, _v in rest]
    constants = [v for _f, v in rest]
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        if is_postgresql():
            started = time.monotonic()
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    values = row if prepared else [db_value(f, v) for f, v in zip(given, row, strict=True)]
                    copy.write_row([*values, *constants])
            _log_copy(table, columns, len(rows), started)
        else:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
            if prepared:
                cursor.executemany(sql, [[*row, *constants] for row in rows])
            else:
                cursor.executemany(sql, [[*(db_value(f, v) for f, v in zip(given, row, strict=True)), *constants]
                                         for row in rows])
    return len(rows)


def insert_rows(model, objs: list, *, ignore_conflicts: bool = False) -> None:
    """INSERT these new instances in batches of BATCH rows: COPY on PostgreSQL, executemany
    on SQLite (bulk_create compiles every value through the ORM, which costs far more than running
    the statement). Like bulk_create: no signals; primary keys are not set on the instances.
    `ignore_conflicts`: a row that breaks a unique constraint is skipped (`ON CONFLICT DO NOTHING`,
    executemany on both databases: COPY cannot skip rows)."""
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    # Per column, once: read the attribute directly unless the field computes it on save
    # (auto_now, files…), and keep a value of the column's plain type as it is.
    columns_spec = [(f.attname, PLAIN_TYPES.get(f.get_internal_type()), f, _computed_on_save(f)) for f in fields]
    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH):
            values = []
            for obj in objs[start:start + BATCH]:
                attrs = obj.__dict__
                record = []
                for attname, plain, f, computed in columns_spec:
                    value = f.pre_save(obj, True) if computed else attrs[attname]
                    record.append(value if plain is not None and type(value) is plain else db_value(f, value))
                values.append(record)
            if is_postgresql() and not ignore_conflicts:  # PostgreSQL: COPY, the fastest way in
                started = time.monotonic()
                with cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                    for value in values:
                        copy.write_row(value)
                _log_copy(quote(model._meta.db_table), columns, len(values), started)
            else:
                cursor.executemany(sql + row + conflict, values)


# --- UPDATE -----------------------------------------------------------------------------------------
def update_rows(*, model, objs: list, names: list[str], agency_id: int) -> None:
    """UPDATE these fields of these instances (of this agency), in batches of BATCH rows."""
    fields = [model._meta.get_field(name) for name in names]
    rows = [(obj.pk, *(db_value(f, getattr(obj, f.attname)) for f in fields)) for obj in objs]
    update_values(model=model, names=names, rows=rows, agency_id=agency_id, prepared=True, batch=BATCH)


def update_values(*, model, names: list[str], rows: list[tuple | list], agency_id: int, where: str = "",
                  where_params: tuple = (), prepared: bool = False, batch: int | None = None) -> int:
    """UPDATE … SET name = v.name … FROM (VALUES (pk, value, …), …) WHERE id = v.pk AND
    agency_id = %s [AND `where`]: rows are (pk, *values of `names`). On PostgreSQL, one statement
    per batch: FROM unnest(one array per column) when every field is of ARRAY_TYPES (all rows at
    once), else FROM (VALUES …) with as many rows as the parameter limit allows. On SQLite an
    executemany of one-row UPDATEs, which it runs faster than a join. `where` may name the table's columns unqualified.
    Returns how many rows changed."""
    if not rows:
        return 0
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    if not prepared:
        rows = [(pk, *(db_value(f, v) for f, v in zip(fields, values, strict=True))) for pk, *values in rows]
    extra = f" AND {where}" if where else ""
    changed = 0
    with connection.cursor() as cursor:
        if not is_postgresql():
            sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
            sql = f"UPDATE {table} SET {sets} WHERE id = %s AND agency_id = %s{extra}"  # noqa: S608
            cursor.executemany(sql, [[*values, pk, agency_id, *where_params] for pk, *values in rows])
            return cursor.rowcount
        if all(f.get_internal_type() in ARRAY_TYPES for f in fields):
            # One array per column: 1 + len(names) parameters whatever the number of rows (a VALUES
            # list of 10,000 rows costs PostgreSQL more to parse and plan than the UPDATE itself).
            size = batch or len(rows)
            casts = ", ".join(f"%s::{f.cast_db_type(connection)}[]"
                              for f in [model._meta.pk, *fields])
            names_v = ", ".join(f"c{i}" for i in range(len(fields) + 1))
            sets = ", ".join(f"{quote(f.column)} = v.c{i + 1}" for i, f in enumerate(fields))
            for start in range(0, len(rows), size):
                columns = [list(column) for column in zip(*rows[start:start + size], strict=True)]
                sql = (f"UPDATE {table} SET {sets} FROM unnest({casts}) AS v({names_v}) "  # noqa: S608
                       f"WHERE {table}.id = v.c0 AND {table}.agency_id = %s{extra}")
                cursor.execute(sql, [*columns, agency_id, *where_params])
                changed += cursor.rowcount
            return changed
        width = len(fields) + 1
        size = batch or rows_per_statement(width, extra=1 + len(where_params))
        sets = ", ".join(f"{quote(f.column)} = v.c{i + 1}{_cast(f)}" for i, f in enumerate(fields))
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            sql = (f"UPDATE {table} SET {sets} FROM {_values_table(chunk, width)} AS v "  # noqa: S608
                   f"WHERE {table}.id = v.c0::bigint AND {table}.agency_id = %s{extra}")
            cursor.execute(sql, [*(p for row in chunk for p in row), agency_id, *where_params])
            changed += cursor.rowcount
    return changed


# --- IN lists -----------------------------------------------------------------------------------------
def id_list(ids) -> RawSQL:
    """`field__in=id_list(ids)`: the ids as one parameter (an array on PostgreSQL, a JSON array on
    SQLite) instead of one per id: Django compiles and the driver quotes 10,000 parameters one by
    one, and PostgreSQL parses as many constants."""
    ids = [int(i) for i in ids]
    if is_postgresql():
        return RawSQL("SELECT unnest(%s::bigint[])", (ids,))
    return RawSQL("SELECT value FROM json_each(%s)", (json.dumps(ids),))
