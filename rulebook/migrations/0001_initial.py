"""The calendar tables move from the deadlines app (state only: the tables stay as they are)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("deadlines", "0002_seed_calendar")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CalendarYear",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("year", models.PositiveSmallIntegerField(unique=True, verbose_name="year")),
                        ("source", models.CharField(choices=[("chinesecalendar", "chinesecalendar package"),
                                                             ("notice", "State Council notice import"),
                                                             ("admin", "Entered by a platform operator")],
                                                    default="chinesecalendar", max_length=20, verbose_name="source")),
                        ("note", models.CharField(blank=True, max_length=300, verbose_name="note")),
                        ("loaded_at", models.DateTimeField(auto_now=True, verbose_name="loaded at")),
                    ],
                    options={"verbose_name": "official calendar year", "verbose_name_plural": "official calendar years",
                             "ordering": ["-year"], "db_table": "deadlines_calendaryear"},
                ),
                migrations.CreateModel(
                    name="CalendarDay",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("date", models.DateField(unique=True, verbose_name="date")),
                        ("kind", models.CharField(choices=[("holiday", "Official holiday (day off)"),
                                                           ("workday", "Make-up working day (调休)")],
                                                  max_length=8, verbose_name="kind")),
                        ("name", models.CharField(blank=True, max_length=100, verbose_name="name")),
                        ("source", models.CharField(choices=[("chinesecalendar", "chinesecalendar package"),
                                                             ("notice", "State Council notice import"),
                                                             ("admin", "Entered by a platform operator")],
                                                    default="chinesecalendar", max_length=20, verbose_name="source")),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={"verbose_name": "calendar day", "verbose_name_plural": "calendar days",
                             "ordering": ["date"], "db_table": "deadlines_calendarday"},
                ),
            ],
            database_operations=[],
        ),
    ]
