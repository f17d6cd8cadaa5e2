from django.apps import AppConfig


class ShutdownConfig(AppConfig):
    name = "shutdown"

    def ready(self):
        # Name this app's choice sets in the OpenAPI schema (drf-spectacular would otherwise
        # guess from field names, which collide across apps: "kind", "rule").
        from django.conf import settings

        from agency.badges import register_subaccount_badges, register_subaccount_links
        from shutdown.badges import RunningTaskBadges, task_links

        register_subaccount_badges(RunningTaskBadges)
        register_subaccount_links(task_links)

        overrides = settings.SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})
        overrides.setdefault("ShutdownDocumentKindEnum", "shutdown.models.DocumentKind")
        overrides.setdefault("TierSplitRuleEnum", "shutdown.rules.SPLIT_RULE_CHOICES")
        overrides.setdefault("ShutdownStrategyEnum", "shutdown.models.Strategy")

        from rulebook.signals import calendar_updated

        from . import receivers

        calendar_updated.connect(receivers.on_calendar_updated, dispatch_uid="shutdown.on_calendar_updated")

        # R9.1 / R9.2: a tier waits for its preparation checklist and its shell transitions.
        from shutdown.gates import register_tier_gate
        from shutdown.panels import register_task_panel
        from shutdown.services.preparation import preparation_gate, shell_transition_gate

        register_tier_gate(preparation_gate)
        register_tier_gate(shell_transition_gate)
        register_task_panel("shutdown/_preparation_panel.html")

        # Big bulk actions and receipts confirmations run as background jobs (agency's job pages).
        from shutdown.services.bulk_jobs import register as register_jobs

        register_jobs()
