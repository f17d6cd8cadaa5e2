"""HTML pages of deadlines: list, calendar, alerts, timelines, policy, reminder rules, metrics upload."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import ListView, TemplateView

from accounts.roles import Role
from agency.exceptions import Conflict, DomainValidationError
from agency.models import SubAccount
from agency.services.imports import read_upload
from agency.timezones import DATE, local_format, parse_local
from agency.views.base import AgencyScopedView
from deadlines import selectors
from deadlines.models import Alert, AlertRule, Deadline, DeadlineKind, ReminderRule
from deadlines.services.deadlines import reopen_possible_from, reopen_request_create
from deadlines.services.dormant import dormant_login_record
from deadlines.services.feed import calendar_feed_get, calendar_feed_rotate
from deadlines.services.monitoring import alert_update, metrics_ingest, metrics_parse_csv
from deadlines.services.rules import (
    policy_update,
    reminder_rule_delete,
    reminder_rule_save,
    reminder_rules_effective,
)
from notifications.models import PERSON_CHANNELS, Channel
from rulebook.policy import CALENDAR_WEEKS_AHEAD, DEFAULTS, RULE_OF_FIELD, policy_for

from .metrics_words import METRIC_COLUMNS, metric_rows, with_codes
from .policy_words import policy_words


def _redirect(name: str, agency, **kwargs) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse(f"deadlines:{name}", kwargs={"agency_slug": agency.slug, **kwargs}))


class DeadlineListView(AgencyScopedView, ListView):
    template_name = "deadlines/deadline_list.html"
    required_permission = "deadlines.view"
    paginate_by = 50
    context_object_name = "deadlines"

    def get_queryset(self):
        g = self.request.GET
        return selectors.deadline_list(agency=self.agency, kind=g.get("kind", ""), provisional=g.get("provisional", ""),
                                       q=g.get("q", "").strip(), window=g.get("window", "upcoming"),
                                       sort=g.get("sort", "due"))

    def get_context_data(self, **kwargs):
        return super().get_context_data(kinds=DeadlineKind.choices, filters=self.request.GET, **kwargs)


class CalendarView(AgencyScopedView, TemplateView):
    template_name = "deadlines/calendar.html"
    required_permission = "deadlines.view"
    permission_by_method = {"POST": "reminders.manage"}

    def get_context_data(self, **kwargs):
        try:
            weeks = max(1, min(int(self.request.GET.get("weeks", CALENDAR_WEEKS_AHEAD)), 26))
        except ValueError:
            weeks = CALENDAR_WEEKS_AHEAD
        feed = calendar_feed_get(agency=self.agency) if self.access.can("reminders.manage") else None
        feed_url = (self.request.build_absolute_uri(reverse("deadlines_ics_feed", kwargs={"token": feed.token}))
                    if feed else None)
        return super().get_context_data(weeks=selectors.calendar_weeks(agency=self.agency, weeks=weeks),
                                         weeks_ahead=weeks, feed_url=feed_url,
                                         can_manage=self.access.can("reminders.manage"), **kwargs)

    def post(self, request, *args, **kwargs):
        calendar_feed_rotate(agency=self.agency)
        messages.success(request, _("A new secret calendar address was made; the old one no longer works."))
        return _redirect("calendar", self.agency)


class AlertListView(AgencyScopedView, ListView):
    template_name = "deadlines/alert_list.html"
    required_permission = "deadlines.view"
    paginate_by = 50
    context_object_name = "alerts"

    def get_queryset(self):
        g = self.request.GET
        return selectors.alert_list(agency=self.agency, status=g.get("status", ""), rule=g.get("rule", ""),
                                    q=g.get("q", "").strip(), sort=g.get("sort", "-raised"))

    def get_context_data(self, **kwargs):
        return super().get_context_data(statuses=Alert.Status.choices, rules=AlertRule.choices,
                                         filters=self.request.GET, **kwargs)


class AlertActionView(AgencyScopedView):
    required_permission = "monitoring.ingest"

    def post(self, request, pk):
        alert = get_object_or_404(Alert, pk=pk)
        alert_update(agency=self.agency, alert=alert, status=request.POST.get("status", ""), user=request.user)
        messages.success(request, _("Alert updated."))
        return _redirect("alert_list", self.agency)


class MetricsUploadView(AgencyScopedView, TemplateView):
    template_name = "deadlines/metrics_upload.html"
    required_permission = "monitoring.ingest"

    def get_context_data(self, **kwargs):
        columns = [(code, zh, str(help_text)) for code, (zh, help_text) in METRIC_COLUMNS.items()]
        return super().get_context_data(columns=columns, metrics=metric_rows(), **kwargs)

    def post(self, request, *args, **kwargs):
        upload = request.FILES.get("file")
        if upload is None:
            return self.render_to_response(self.get_context_data(error=_("Choose a CSV file to upload.")))
        try:
            rows = metrics_parse_csv(data=with_codes(read_upload(upload)))
            result = metrics_ingest(agency=self.agency, rows=rows, source="csv", user=request.user)
        except DomainValidationError as exc:
            return self.render_to_response(self.get_context_data(error=exc.message,
                                                                 row_errors=exc.details.get("rows", [])))
        messages.success(request, _("%(n)s samples stored, %(a)s new alerts.")
                         % {"n": result["stored"], "a": len(result["alerts"])})
        return _redirect("alert_list", self.agency)


class TaskTimelineView(AgencyScopedView, TemplateView):
    template_name = "deadlines/task_timeline.html"
    required_permission = "deadlines.view"

    def get_context_data(self, **kwargs):
        from shutdown.models import ShutdownTask

        task = get_object_or_404(ShutdownTask, pk=self.kwargs["pk"])
        return super().get_context_data(task=task, now=timezone.now(), deadlines=selectors.task_timeline(agency=self.agency, task=task),
                                        **kwargs)


class AccountTimelineView(AgencyScopedView, TemplateView):
    template_name = "deadlines/account_timeline.html"
    required_permission = "deadlines.view"
    permission_by_method = {"POST": "subaccounts.edit"}

    def get_account(self):
        return get_object_or_404(SubAccount, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        account = self.get_account()
        timeline = selectors.account_timeline(agency=self.agency, sub_account=account)
        open_login = next((d for d in timeline["deadlines"]
                           if d.kind == DeadlineKind.DORMANT_LOGIN and d.completed_at is None), None)
        return super().get_context_data(account=account, now=timezone.now(), possible_from=reopen_possible_from(
            agency=self.agency, sub_account=account), open_dormant_login=open_login,
            can_record_login=self.access.can("subaccounts.edit"), **timeline, **kwargs)

    def post(self, request, pk):
        account = self.get_account()
        reopen_request_create(agency=self.agency, sub_account=account, user=request.user,
                              reason=request.POST.get("reason", ""))
        messages.success(request, _("The reopening request for %(a)s was recorded.") % {"a": account.display_name})
        return _redirect("account_timeline", self.agency, pk=pk)


class DormantLoginView(AgencyScopedView):
    """R5.1: an operator records the monthly login of a dormant account (the form on its timeline)."""

    required_permission = "subaccounts.edit"

    def post(self, request, pk):
        deadline = get_object_or_404(Deadline.objects.select_related("sub_account"), pk=pk,
                                     kind=DeadlineKind.DORMANT_LOGIN)
        back = _redirect("account_timeline", self.agency, pk=deadline.sub_account_id)
        written = request.POST.get("logged_in_at", "").strip()
        try:
            logged_in_at = parse_local(written, self.agency) if written else None
        except ValueError:
            messages.error(request, _("The login was not recorded: “%(value)s” is not a date and time "
                                      "(write it as 2026-03-30 11:00).") % {"value": written})
            return back
        try:
            result = dormant_login_record(agency=self.agency, deadline_id=deadline.pk, user=request.user,
                                          logged_in_at=logged_in_at, note=request.POST.get("note", ""))
        except DomainValidationError as exc:
            reasons = " ".join(str(m) for field in exc.details.values() for m in field)
            messages.error(request, f"{exc.message} {reasons}".strip())
            return back
        except Conflict as exc:
            messages.error(request, str(exc.message))
            return back
        if result.next is not None:
            messages.success(request, _("Login recorded for %(a)s. The next login is due by %(d)s.")
                             % {"a": deadline.sub_account.display_name,
                                "d": local_format(result.next.due_at, self.agency, DATE)})
        else:
            messages.success(request, _("Login recorded for %(a)s. The account is no longer dormant: no further "
                                        "login is required.") % {"a": deadline.sub_account.display_name})
        return back


class PolicyView(AgencyScopedView, TemplateView):
    template_name = "deadlines/policy.html"
    required_permission = "deadlines.view"
    permission_by_method = {"POST": "agency.settings"}
    step_up_for = frozenset({"POST"})

    def get_context_data(self, **kwargs):
        effective = policy_for(self.agency).as_dict()
        overrides = (self.agency.settings or {}).get("policy") or {}
        rows = []
        for name in effective:
            label, unit, explanation = policy_words(name)
            rows.append({"name": name, "label": label, "unit": unit, "explanation": explanation,
                         "rule": RULE_OF_FIELD.get(name, ""), "default": getattr(DEFAULTS, name),
                         "value": effective[name], "overridden": name in overrides})
        return super().get_context_data(rows=rows, can_edit=self.access.can("agency.settings"), **kwargs)

    def post(self, request, *args, **kwargs):
        values = {name: request.POST.get(name, "") for name in DEFAULTS.as_dict() if name in request.POST}
        try:
            policy_update(agency=self.agency, values=values)
        except DomainValidationError as exc:
            ctx = self.get_context_data(errors=exc.details)
            messages.error(request, exc.message)
            return self.render_to_response(ctx, status=400)
        messages.success(request, _("Policy saved. New deadlines use these numbers; stored ones keep their dates."))
        return _redirect("policy", self.agency)


class ReminderRulesView(AgencyScopedView, TemplateView):
    template_name = "deadlines/reminder_rules.html"
    required_permission = "deadlines.view"
    permission_by_method = {"POST": "reminders.manage"}
    step_up_for = frozenset({"POST"})

    def get_context_data(self, **kwargs):
        rules = reminder_rules_effective(agency=self.agency) if self.request.method == "POST" else list(
            ReminderRule.objects.filter(agency=self.agency))
        channel_labels, role_labels = dict(Channel.choices), dict(Role.choices)
        words = pgettext("list separator", ", ")
        rows = [(r, words.join(str(channel_labels.get(c, c)) for c in r.channels or []),
                 words.join(str(role_labels.get(x, x)) for x in r.recipient_roles or [])) for r in rules]
        return super().get_context_data(rules=rules, rows=rows, kinds=DeadlineKind.choices,
                                        channels=[(c, label) for c, label in Channel.choices if c in PERSON_CHANNELS],
                                        roles=Role.choices,
                                        can_edit=self.access.can("reminders.manage"), **kwargs)

    def post(self, request, *args, **kwargs):
        if request.POST.get("delete"):
            rule = get_object_or_404(ReminderRule, pk=request.POST["delete"])
            reminder_rule_delete(agency=self.agency, rule=rule)
            messages.success(request, _("Rule deleted."))
            return _redirect("reminder_rules", self.agency)
        rule = None
        if request.POST.get("rule"):
            rule = get_object_or_404(ReminderRule, pk=request.POST["rule"])
        try:
            reminder_rule_save(agency=self.agency, rule=rule, deadline_kind=request.POST.get("deadline_kind", ""),
                               days_before=request.POST.get("days_before"),
                               channels=request.POST.getlist("channels"),
                               recipient_roles=request.POST.getlist("recipient_roles"),
                               notify_owner=request.POST.get("notify_owner") == "on",
                               is_active=request.POST.get("is_active", "on") == "on")
        except DomainValidationError as exc:
            messages.error(request, exc.message)
            return self.render_to_response(self.get_context_data(errors=exc.details), status=400)
        messages.success(request, _("Rule saved. It applies to deadlines created from now on."))
        return _redirect("reminder_rules", self.agency)


