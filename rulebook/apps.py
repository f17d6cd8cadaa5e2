from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulebookConfig(AppConfig):
    """The domain's numbers and time: the policy table, the working-day calendar and the
    pure consequence/date computations that every app above reads."""

    name = "rulebook"
    verbose_name = _("Rules and calendar")
