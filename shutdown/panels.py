"""Panels that apps above shutdown add to the task page (the approvals app adds its approval
and signature panel). Each is a template name, included in registration order with the
task page's context (`task`, `access`); apps register theirs in AppConfig.ready()."""

TASK_PAGE_PANELS: list[str] = []


def register_task_panel(template_name: str) -> str:
    if template_name not in TASK_PAGE_PANELS:
        TASK_PAGE_PANELS.append(template_name)
    return template_name
