"""Working-day arithmetic and calendar upkeep.

    manage.py workdays add 2026-09-30 7          -> 2026-10-15   (a date counted across a year without
                                                    official data ends in " provisional")
    manage.py workdays sync                      -> load the package's data for every year that is
                                                    not official yet (estimate + overrides)
    manage.py workdays import 2027 notice.txt    -> the State Council's yearly notice
"""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from agency.exceptions import DomainError


class Command(BaseCommand):
    help = "Chinese working days: add N working days to a date; sync or import the official calendar."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Print the Nth working day after DATE (DATE not counted).")
        add.add_argument("date", help="YYYY-MM-DD")
        add.add_argument("days", type=int)
        sub.add_parser("sync", help="Load every year the chinesecalendar package knows that the table lacks.")
        imp = sub.add_parser("import", help="Import the State Council's yearly notice (text file).")
        imp.add_argument("year", type=int)
        imp.add_argument("file")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "add":
            from rulebook.workdays import add_working_days

            try:
                start = date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(f"“{options['date']}” is not a date in YYYY-MM-DD form.") from exc
            if options["days"] < 0:
                raise CommandError("N must be 0 or more.")
            due, provisional = add_working_days(start=start, days=options["days"])
            self.stdout.write(due.isoformat() + (" provisional" if provisional else ""))
        elif action == "sync":
            from rulebook.calendar import calendar_seed_from_package

            years = calendar_seed_from_package(only_missing=True)
            self.stdout.write(f"loaded: {', '.join(map(str, years)) or 'nothing new'}")
        else:
            from rulebook.calendar import calendar_import_notice

            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
            try:
                entry = calendar_import_notice(text=path.read_text(encoding="utf-8-sig"), year=options["year"])
            except DomainError as exc:
                raise CommandError(str(exc.message)) from exc
            self.stdout.write(f"imported {entry.year}")
