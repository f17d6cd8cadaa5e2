import importlib

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from agency.demo import DEMO_PASSWORD, seed_demo

DEMO_APPS = ["shutdown", "approvals", "deadlines", "notifications"]


class Command(BaseCommand):
    help = "Create or refresh the demo agencies, users and sub-accounts (idempotent; DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=240, help="Sub-accounts per agency (default 240)")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo refuses to run with DEBUG off: demo users have a public password.")
        logins = seed_demo(accounts_per_agency=options["accounts"])
        self._seed_apps()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Logins (password: {DEMO_PASSWORD}):"))
        for agency, role, email in logins:
            self.stdout.write(f"  {email:32} {role:22} {agency}")

    def _seed_apps(self):
        """Each app may add its own demo data in `<app>/demo.py: seed_demo_data(*, agency)`,
        called inside the agency's scope, in this order, idempotently."""
        from django_scopes import scope

        from agency.models import Agency

        for app in DEMO_APPS:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            for agency in Agency.objects.filter(slug__in=["demo-mcn", "rival-mcn"]).order_by("slug"):
                with scope(agency=agency):
                    module.seed_demo_data(agency=agency)
