"""The calendar models now belong to the rulebook app (state only; rulebook renames the tables)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("deadlines", "0002_seed_calendar"), ("rulebook", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="CalendarDay"), migrations.DeleteModel(name="CalendarYear")],
            database_operations=[],
        ),
    ]
