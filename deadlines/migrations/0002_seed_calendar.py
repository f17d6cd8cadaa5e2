"""Seed the working-day calendar from the chinesecalendar package (every year it knows)."""

from django.db import migrations


def seed(apps, schema_editor):
    import chinese_calendar

    CalendarYear = apps.get_model("deadlines", "CalendarYear")
    CalendarDay = apps.get_model("deadlines", "CalendarDay")
    days = {}
    for d, name in chinese_calendar.holidays.items():
        days[d] = ("holiday", str(name))
    for d, name in chinese_calendar.workdays.items():
        if d.weekday() >= 5:
            days[d] = ("workday", str(name))
    years = sorted({d.year for d in days})
    existing = set(CalendarYear.objects.values_list("year", flat=True))
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=d, kind=k, name=n[:100], source="chinesecalendar")
         for d, (k, n) in sorted(days.items()) if d.year not in existing],
        ignore_conflicts=True,
    )
    CalendarYear.objects.bulk_create(
        [CalendarYear(year=y, source="chinesecalendar", note="chinesecalendar") for y in years if y not in existing],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("deadlines", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
