"""Calendar provenance per year and per day, and the calendar version stamp in the database.

Years that became "official" through one operator edit (CalendarYear.source = admin) go back
to being estimated; their edited days stay, as overrides. In a year with official data, a day
an operator edited had lost its official row: it is restored from the package, under the override.
"""

import uuid

from django.db import migrations, models


def provenance_forward(apps, schema_editor):
    import chinese_calendar

    CalendarYear = apps.get_model("rulebook", "CalendarYear")
    CalendarDay = apps.get_model("rulebook", "CalendarDay")
    CalendarVersion = apps.get_model("rulebook", "CalendarVersion")
    CalendarYear.objects.filter(source="admin").delete()
    package_years = set(CalendarYear.objects.filter(source="chinesecalendar").values_list("year", flat=True))
    restored = []
    for day in CalendarDay.objects.filter(source="admin", date__year__in=package_years):
        if day.date in chinese_calendar.holidays:
            restored.append(CalendarDay(date=day.date, kind="holiday", name=str(chinese_calendar.holidays[day.date]),
                                        source="chinesecalendar"))
        elif day.date in chinese_calendar.workdays and day.date.weekday() >= 5:
            restored.append(CalendarDay(date=day.date, kind="workday", name=str(chinese_calendar.workdays[day.date]),
                                        source="chinesecalendar"))
    CalendarDay.objects.bulk_create(restored)
    CalendarVersion.objects.create(token=uuid.uuid4().hex)


class Migration(migrations.Migration):

    dependencies = [
        ('rulebook', '0002_rename_calendar_tables'),
    ]

    operations = [
        migrations.CreateModel(
            name='CalendarVersion',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.CharField(max_length=32)),
                ('changed_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'verbose_name': 'calendar version',
                'verbose_name_plural': 'calendar versions',
            },
        ),
        migrations.AlterModelOptions(
            name='calendarday',
            options={'ordering': ['date', 'source'], 'verbose_name': 'calendar day', 'verbose_name_plural': 'calendar days'},
        ),
        migrations.AlterField(
            model_name='calendarday',
            name='date',
            field=models.DateField(verbose_name='date'),
        ),
        migrations.AddConstraint(
            model_name='calendarday',
            constraint=models.UniqueConstraint(condition=models.Q(('source', 'admin')), fields=('date',), name='calendarday_one_override_per_date'),
        ),
        migrations.AddConstraint(
            model_name='calendarday',
            constraint=models.UniqueConstraint(condition=models.Q(('source', 'admin'), _negated=True), fields=('date',), name='calendarday_one_official_per_date'),
        ),
        migrations.RunPython(provenance_forward, migrations.RunPython.noop),
    ]
