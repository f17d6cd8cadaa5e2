from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class AgencyConfig(AppConfig):
    name = "agency"
    verbose_name = _("Agencies and sub-accounts")

    def ready(self):
        from accounts.hooks import password_login_checks

        from . import bulksql  # noqa: F401 - registers the `in_ids` lookup
        from .models import SubAccount
        from .services.tags import on_subaccount_saved
        from .sso import password_login_refusal

        if password_login_refusal not in password_login_checks:
            password_login_checks.append(password_login_refusal)
        post_save.connect(on_subaccount_saved, sender=SubAccount, dispatch_uid="agency.subaccount_tags_reindex")
