"""Bulk SQL for the importer, on PostgreSQL and SQLite: INSERT by COPY or executemany,
UPDATE … FROM (VALUES …) or executemany. Identifiers and types come from the model's
metadata; values are always parameters. No signals are sent (like bulk_create / bulk_update).
"""

from django.db import connection

BATCH = 1000  # rows per statement (or per COPY)

PLAIN_TYPES = {  # internal type → the Python type its get_db_prep_save returns unchanged
    "CharField": str, "TextField": str, "BooleanField": bool, "PositiveIntegerField": int, "IntegerField": int,
    "ForeignKey": int,
}


def db_value(field, value):
    """field.get_db_prep_save(value), skipping the call for plain values that it returns as they are."""
    if value is None and field.null:
        return None
    if type(value) is PLAIN_TYPES.get(field.get_internal_type()):
        return value
    return field.get_db_prep_save(value, connection)


def multi_row_values() -> bool:
    """PostgreSQL runs one statement with many rows far faster than executemany (a round of
    statement processing per row); SQLite runs executemany fastest."""
    return connection.vendor == "postgresql"


def update_rows(*, model, objs: list, names: list[str], agency_id: int) -> None:
    """UPDATE these fields of these instances (of this agency), in batches of BATCH rows."""
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)

    def params(obj):
        return [*(db_value(f, getattr(obj, f.attname)) for f in fields), obj.pk]

    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH):
            batch = objs[start:start + BATCH]
            if multi_row_values():
                sets = ", ".join(f"{quote(f.column)} = v.c{i}::{f.cast_db_type(connection)}"
                                 for i, f in enumerate(fields))
                names_ = ", ".join([*(f"c{i}" for i in range(len(fields))), "pk"])
                row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
                sql = (f"UPDATE {table} SET {sets} FROM (VALUES {', '.join([row] * len(batch))}) AS v({names_}) "  # noqa: S608
                       f"WHERE {table}.id = v.pk::bigint AND {table}.agency_id = %s")
                cursor.execute(sql, [*(p for obj in batch for p in params(obj)), agency_id])
            else:
                sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
                sql = f"UPDATE {table} SET {sets} WHERE id = %s AND agency_id = %s"  # noqa: S608
                cursor.executemany(sql, [[*params(obj), agency_id] for obj in batch])


def insert_rows(model, objs: list) -> None:
    """INSERT these new instances in batches of BATCH rows: COPY on PostgreSQL, executemany
    on SQLite (bulk_create compiles every value through the ORM, which costs far more than running
    the statement). Like bulk_create: no signals; primary keys are not set on the instances."""
    if not objs:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES "  # noqa: S608
    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH):
            values = [
                [db_value(f, f.pre_save(obj, True)) for f in fields]
                for obj in objs[start:start + BATCH]
            ]
            if multi_row_values():  # PostgreSQL: COPY, the fastest way in
                with cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                    for value in values:
                        copy.write_row(value)
            else:
                cursor.executemany(sql + row, values)
