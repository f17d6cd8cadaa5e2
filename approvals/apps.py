from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"

    def ready(self):
        from django.db.models.signals import post_save

        from notifications.signals import message_sent
        from shutdown.gates import register_execution_gate
        from shutdown.models import TaskEvent
        from shutdown.panels import register_task_panel
        from shutdown.signals import task_cancelled

        from . import receivers, robots
        from .services.signatures import signature_codes_sent, signature_gate

        register_execution_gate(signature_gate)
        post_save.connect(robots.on_task_event, sender=TaskEvent, dispatch_uid="approvals.robots.on_task_event")
        register_task_panel("approvals/_task_panel.html")
        from shutdown.services.bulk import register_bulk_action

        from .services.bulk_signatures import BULK_ACTION

        register_bulk_action(BULK_ACTION)
        task_cancelled.connect(receivers.on_task_cancelled, dispatch_uid="approvals.on_task_cancelled")
        message_sent.connect(lambda sender, messages, **kw: signature_codes_sent(messages=messages), weak=False,
                             dispatch_uid="approvals.signature_codes_sent")
