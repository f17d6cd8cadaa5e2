"""The project's apps as layers, lowest first: one list, read by the settings (INSTALLED_APPS)
and by tests/test_layers.py, which fails when a module imports an app above its own.

- accounts: users, roles, login, API tokens
- agency: the tenant (Agency, memberships, scoping), the sub-account registry
- notifications: the outbox and its delivery (email, SMS, in-app); every app above sends through it
- rulebook: the domain's numbers and time: policy table, working-day calendar, consequences
- shutdown: tasks, tiers, items, pre-checks, execution: the task lifecycle
- approvals: approval levels and decisions, owner signatures, audit trail pages
- deadlines: countdowns, reminders, monitoring, reopening, ICS feed
- backoffice: pages that gather several apps (dashboard, navigation), demo seeding
- ops: running on several machines: /healthz, /readyz, /metrics (reads the outbox and the
  signature requests), JSON logs with a request id, Sentry; nothing imports it

A lower app never imports a higher one, not even inside a function: it defines a signal
(`shutdown/signals.py`, `rulebook/signals.py`) or a registry (`shutdown/gates.py`) that the
higher app connects to in its AppConfig.ready().
"""

LAYERS: list[str] = ["accounts", "agency", "notifications", "rulebook", "shutdown", "approvals", "deadlines",
                     "backoffice", "ops"]
