from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Users and roles")

    def ready(self):
        from django.contrib.auth.signals import user_login_failed

        from . import schema, signals  # noqa: F401  (receivers; the OpenAPI description of token auth)
        from .throttle import on_login_failed

        user_login_failed.connect(on_login_failed, dispatch_uid="accounts.login_address_failures")
