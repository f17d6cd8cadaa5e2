"""R9.2: the empty shell is kept *before* a shutdown (the shell transition), never after it.

Before this change a `shell_transition` deadline ("keep the empty shell until") was stored when
an account had already been shut down, which contradicts itself. Every such row predates the
shell transition (which stores its deadline when the transition is chosen, before the
shutdown): they are removed here, with their reminders that are still waiting to be sent."""

from django.db import migrations


def remove_post_shutdown_shell_deadlines(apps, schema_editor):
    Deadline = apps.get_model("deadlines", "Deadline")
    OutboundMessage = apps.get_model("notifications", "OutboundMessage")
    stale = Deadline.objects.filter(kind="shell_transition", item__effective_at__isnull=False)
    refs = [f"deadline:{pk}" for pk in stale.values_list("pk", flat=True)]
    for start in range(0, len(refs), 500):
        OutboundMessage.objects.filter(ref__in=refs[start : start + 500], status="pending").update(
            status="cancelled"
        )
    stale.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("deadlines", "0006_shell_transition_deadlines"),
        ("notifications", "0004_outbox_sealed_secrets"),
    ]

    operations = [migrations.RunPython(remove_post_shutdown_shell_deadlines, migrations.RunPython.noop)]
