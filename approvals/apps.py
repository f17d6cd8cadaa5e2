from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"

    def ready(self):
        from shutdown.gates import register_execution_gate

        from .services.signatures import signature_gate

        register_execution_gate(signature_gate)
