from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("rulebook", "0001_initial"), ("deadlines", "0003_calendar_moved_to_rulebook")]

    operations = [
        migrations.AlterModelTable(name="CalendarYear", table=None),
        migrations.AlterModelTable(name="CalendarDay", table=None),
    ]
