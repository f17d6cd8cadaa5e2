"""Bulk SQL on PostgreSQL and SQLite, below the ORM: INSERT by COPY (PostgreSQL) or
executemany (SQLite), UPDATE … FROM (VALUES …) in one statement per batch. Shared by the
importer (`agency/importers/bulk.py`) and the pre-checks (`shutdown/services/precheck.py`).

Identifiers and types come from the model's metadata; values are always parameters. No
signals are sent (like bulk_create / bulk_update), primary keys are not returned. Every
UPDATE is bounded to one agency (`agency_id = %s`): these helpers never cross tenants.
"""

import enum
import json
import logging
import re
import sqlite3
import time
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

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


class _Prepare:
    """A psycopg cursor whose `execute` asks for a prepared statement (the rest passes through)."""

    def __init__(self, cursor):
        self._cursor = cursor

    def execute(self, query, params=None):
        return self._cursor.execute(query, params, prepare=True)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


@contextmanager
def prepared_cursor():
    """For one statement run thousands of times by a worker (an email's record): on PostgreSQL a
    cursor whose statements are parsed and planned once per connection (server-side parameters,
    a prepared statement): one such UPDATE took 160 µs a round trip, 52 µs prepared. Still behind
    Django's cursor wrapper (execute wrappers, query logging, error translation). Elsewhere, or with
    settings.DB_PREPARED_STATEMENTS off (behind a pooler in transaction mode, e.g. PgBouncer before
    1.21, the next transaction may run on a server connection that never saw the statement),
    Django's ordinary cursor."""
    if not is_postgresql() or not settings.DB_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg  # noqa: PLC0415 - PostgreSQL only

    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = _Prepare(psycopg.Cursor(connection.connection))
    wrapped = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    with wrapped as cursor:
        yield cursor


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


# --- COPY text -----------------------------------------------------------------------------------------
# COPY's text format: a row is its values joined by tabs; \N is NULL; in a value, the backslash and
# these control characters are escaped (psycopg's own COPY escapes the same ones). NUL is not
# escaped: a value holding one takes psycopg's dumper, which refuses it as it always has.
_COPY_SPECIAL = re.compile("[\\\\\b\t\n\v\f\r]")
_COPY_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"}
_COPY_NULL = "\\N"
INT_TYPES = {"IntegerField", "PositiveIntegerField", "BigIntegerField", "SmallIntegerField",
             "PositiveSmallIntegerField", "PositiveBigIntegerField"}


def _copy_escape(text: str) -> str:
    if "\\" not in text and text.isprintable():  # no control character: most values, at C speed
        return text
    return _COPY_SPECIAL.sub(lambda m: _COPY_ESCAPES[m.group()], text)


def _copy_formatters(fields, cursor, *, prepared: bool) -> list:
    """Per column, once: a function from a value to its COPY text, the same text as
    db_value (unless `prepared`) then psycopg's text dumper and COPY escaping give. The values
    of the column's usual types (str, int, bool, finite Decimal, date, aware datetime, JSON
    dict/list, NULL) are formatted directly; any other goes the general way."""
    from psycopg.adapt import PyFormat, Transformer

    transformer = Transformer(cursor.cursor.connection)
    encoding = cursor.cursor.connection.info.encoding

    def general(field, by_type):
        text_column = PLAIN_TYPES.get(field.get_internal_type()) is str

        def dump(value):
            if text_column and isinstance(value, enum.Enum) and isinstance(value, str):
                # A TextChoices member: its value (as db_value gives), for every member of its type.
                by_type[type(value)] = member
                return member(value)
            return dump_general(value)

        def member(value):
            text = value.value
            return _copy_escape(text) if type(text) is str and "\x00" not in text else dump_general(value)

        def dump_general(value):
            if not prepared:
                value = db_value(field, value)
            if value is None:
                return _COPY_NULL
            data = transformer.get_dumper(value, PyFormat.TEXT).dump(value)
            return _copy_escape(bytes(data).decode(encoding))

        return dump

    def text(fallback):
        def dump(value):
            return _copy_escape(value) if "\x00" not in value else fallback(value)
        return dump

    def decimal(fallback):
        def dump(value):
            return str(value) if value.is_finite() else fallback(value)
        return dump

    def aware(fallback):
        def dump(value):
            return str(value) if value.utcoffset() is not None else fallback(value)
        return dump

    def json_text(dumps, encoder):
        if encoder is not None and encoder is not DjangoJSONEncoder:
            return lambda value: _copy_escape(dumps(value))

        def dump(value):
            # json.dumps (no indent) writes every control character of a string as an escape
            # (\\n, \\u0000…): its backslashes are the only characters COPY needs escaped.
            return dumps(value).replace("\\", "\\\\")
        return dump

    formatters = []
    for field in fields:
        internal = field.get_internal_type()
        by_type = {}
        fallback = general(field, by_type)
        if PLAIN_TYPES.get(internal) is str:
            by_type[str] = text(fallback)
        elif PLAIN_TYPES.get(internal) is int or internal in INT_TYPES:
            by_type[int] = str
        elif internal == "BooleanField":
            by_type[bool] = lambda value: "t" if value else "f"
        elif internal == "DecimalField":
            by_type[Decimal] = decimal(fallback)
            by_type[int] = str  # a default of 0: str(Decimal(n)) == str(n)
        elif internal == "DateField":
            by_type[date] = str
        elif internal == "DateTimeField":
            by_type[datetime] = aware(fallback)
        elif internal == "JSONField":
            from django.db.backends.postgresql.operations import get_json_dumps

            by_type[dict] = by_type[list] = json_text(get_json_dumps(field.encoder), field.encoder)
        if field.null:
            by_type[type(None)] = lambda _value: _COPY_NULL
        formatters.append((by_type, fallback))
    return formatters


def _copy_column(by_type: dict, fallback, column: tuple) -> list | tuple:
    """The COPY texts of one column's values: by whole column when they are all of one type (a
    text column with no character to escape is its values as they are; ints are map(str, …)),
    else value by value."""
    types = set(map(type, column))
    if len(types) == 1:
        kind = types.pop()
        if kind is str and by_type.get(str) is not None:
            joined = "\n".join(column)
            if "\\" not in joined and joined.isprintable():  # nothing to escape, no NUL
                return column
        formatter = by_type.get(kind)
        if formatter is not None:
            return list(map(formatter, column))
    return [(by_type.get(type(value)) or fallback)(value) for value in column]


def _copy_write(cursor, table: str, columns: str, fields, rows, *, prepared: bool = False, constants=None) -> int:
    """COPY these rows (sequences of values of `fields`) as text, formatted per column, BATCH
    rows at a time. `constants`: (fields, values already what the database takes) ending every row."""
    formatters = _copy_formatters(fields, cursor, prepared=prepared)
    tail = []
    if constants and constants[0]:
        tail = [
            (by_type.get(type(value)) or fallback)(value)
            for (by_type, fallback), value in zip(
                _copy_formatters(constants[0], cursor, prepared=True), constants[1], strict=True)
        ]

    def chunk(batch: list) -> str:
        texts = [_copy_column(by_type, fallback, column)
                 for (by_type, fallback), column in zip(formatters, zip(*batch, strict=True), strict=True)]
        texts += [[text] * len(batch) for text in tail]
        return "\n".join(map("\t".join, zip(*texts, strict=True))) + "\n"

    started = time.monotonic()
    count = 0
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                copy.write(chunk(batch))
                count += len(batch)
                batch = []
        if batch:
            copy.write(chunk(batch))
            count += len(batch)
    _log_copy(table, columns, count, started)
    return count


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
            tail = tuple(constants)
            _copy_write(cursor, table, columns, given, (row for row in rows), prepared=prepared,
                        constants=(fields[len(given):], tail))
        else:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
            if prepared:
                cursor.executemany(sql, [[*row, *constants] for row in rows])
            else:
                cursor.executemany(sql, [[*(db_value(f, v) for f, v in zip(given, row, strict=True)), *constants]
                                         for row in rows])
    return len(rows)


def insert_arrays(model, names: list[str], rows: list[tuple | list], *, ignore_conflicts: bool = False) -> int:
    """PostgreSQL: INSERT … SELECT FROM unnest(one array per column) [ON CONFLICT DO NOTHING]: one
    statement and len(names) parameters whatever the number of rows. `names`: every concrete
    field but the primary key, each of ARRAY_TYPES. Text arrays are text[], not varchar(n)[]: a
    value too long is refused by the column, not cut by the cast. Returns the rows inserted."""
    if not rows:
        return 0
    meta = model._meta
    by_attname = {f.attname: f for f in meta.concrete_fields if not f.primary_key}
    assert set(names) == set(by_attname), names
    fields = [by_attname[n] for n in names]
    assert all(f.get_internal_type() in ARRAY_TYPES for f in fields), names
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    arrays = ", ".join(
        "%s::text[]" if PLAIN_TYPES.get(f.get_internal_type()) is str else f"%s::{f.cast_db_type(connection)}[]"
        for f in fields
    )
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT * FROM unnest({arrays}){conflict}"  # noqa: S608
    params = [[db_value(f, v) for v in column] for f, column in zip(fields, zip(*rows, strict=True), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


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
        if is_postgresql() and not ignore_conflicts:  # PostgreSQL: COPY, the text formatted per column
            _copy_write(cursor, quote(model._meta.db_table), columns, fields, (
                [f.pre_save(obj, True) if computed else obj.__dict__[attname]
                 for attname, _plain, f, computed in columns_spec]
                for obj in objs
            ))
            return
        for start in range(0, len(objs), BATCH):
            values = []
            for obj in objs[start:start + BATCH]:
                attrs = obj.__dict__
                record = []
                for attname, plain, f, computed in columns_spec:
                    value = f.pre_save(obj, True) if computed else attrs[attname]
                    record.append(value if plain is not None and type(value) is plain else db_value(f, value))
                values.append(record)
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
@models.Field.register_lookup
class InIds(models.Lookup):
    """`field__in_ids=ids`: the ids as one parameter instead of one per id (Django compiles and
    the driver quotes 10,000 parameters one by one, and the database parses as many constants).

    PostgreSQL: `field = ANY(%s::bigint[])`, a condition on each row. Not `IN (SELECT unnest(…))`:
    that is a join, and when the table's statistics lag behind a bulk write (10,000 accounts of
    an agency just created, before ANALYZE) the planner expects one row on the other side and
    loops over the whole array for every account: 2.4 s for 10,000 ids, against 2 ms for ANY,
    which PostgreSQL checks against a hash of the array. SQLite: `field IN (SELECT value FROM
    json_each(%s))` (one JSON array)."""

    lookup_name = "in_ids"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(i) for i in self.rhs]  # a generator is read once, here; a non-number fails here

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, self.rhs]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, json.dumps(self.rhs)]  # noqa: S608 - compiled column


models.ForeignObject.register_lookup(InIds)  # `sub_account_id__in_ids`: a foreign key has lookups of its own


def rows_by_keys(model, *, agency_id: int, names: list[str], keys, fetch: list[str] | tuple = ("id",)) -> list[tuple]:
    """(*fetch, *names) of this agency's rows whose columns `names` equal one of `keys` (tuples of
    strings), in one statement whatever the number of keys: the keys as one array parameter per
    column (PostgreSQL, unnest) or one JSON array (SQLite, json_each), instead of an IN list per
    chunk of keys that is compiled, quoted and parsed one parameter at a time."""
    keys = [tuple(str(v) for v in key) for key in keys]
    if not keys:
        return []
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    selected = ", ".join(quote(meta.get_field(n).column) for n in [*fetch, *names])
    matched = ", ".join(quote(meta.get_field(n).column) for n in names)
    if is_postgresql():
        arrays = ", ".join(["%s::text[]"] * len(names))
        source = f"SELECT * FROM unnest({arrays})"  # noqa: S608 - placeholders only
        params = [list(column) for column in zip(*keys, strict=True)]
    else:
        items = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(names)))
        source = f"SELECT {items} FROM json_each(%s)"  # noqa: S608 - placeholders only
        params = [json.dumps(keys)]
    sql = (f"SELECT {selected} FROM {table} WHERE {table}.agency_id = %s "  # noqa: S608 - identifiers from the model
           f"AND ({matched}) IN ({source})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [agency_id, *params])
        return [tuple(row) for row in cursor.fetchall()]


# --- Statistics -------------------------------------------------------------------------------------
def analyze_after_commit(models_written: list, *, rows: int) -> bool:
    """After a bulk write of `rows` rows (at least BULK_ANALYZE_MIN_ROWS), refresh PostgreSQL's
    statistics of these tables once the transaction commits. Autovacuum would do it within a
    minute or so; until then the planner believes the tables are as they were (empty, after an
    agency's first import) and picks plans that suit ten rows: the list filtered by a tag took 8 s
    instead of 30 ms over 10,000 freshly imported accounts. Returns whether it was scheduled.
    A failure is logged, never raised: the import has committed by then."""
    if not is_postgresql() or rows < settings.BULK_ANALYZE_MIN_ROWS:
        return False
    quote = connection.ops.quote_name
    tables = ", ".join(quote(m._meta.db_table) for m in models_written)

    def analyze():
        started = time.monotonic()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {tables}")
        except Exception:  # noqa: BLE001 - statistics are an optimisation; the data is written
            logger.warning("ANALYZE %s after a bulk write failed", tables, exc_info=True)
            return
        logger.info("analyzed after bulk write", extra={"tables": tables, "rows": rows,
                                                          "ms": round((time.monotonic() - started) * 1000)})

    transaction.on_commit(analyze)
    return True

