from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from agency.demo import DEMO_AGENCY_SLUGS, DEMO_PASSWORD, seed_demo
from agency.models import Agency
from approvals.demo import seed_demo_data as seed_approvals
from deadlines.demo import seed_demo_data as seed_deadlines
from shutdown.demo import seed_demo_data as seed_shutdown

# Each app adds its own demo data, in layer order, inside the agency's scope, idempotently.
APP_SEEDERS = (seed_shutdown, seed_approvals, seed_deadlines)


class Command(BaseCommand):
    help = "Create or refresh the demo agencies, users and sub-accounts (idempotent; DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=240, help="Sub-accounts per agency (default 240)")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo refuses to run with DEBUG off: demo users have a public password.")
        logins = seed_demo(accounts_per_agency=options["accounts"])
        for seeder in APP_SEEDERS:
            for agency in Agency.objects.filter(slug__in=DEMO_AGENCY_SLUGS).order_by("slug"):
                with scope(agency=agency):
                    seeder(agency=agency)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Logins (password: {DEMO_PASSWORD}):"))
        for agency, role, email in logins:
            self.stdout.write(f"  {email:32} {role:22} {agency}")
