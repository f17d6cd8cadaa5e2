from django.apps import AppConfig


class ShutdownConfig(AppConfig):
    name = "shutdown"
