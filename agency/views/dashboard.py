from django.db.models import Count
from django.views.generic import TemplateView

from agency.models import SubAccount

from .base import AgencyScopedView


class DashboardView(AgencyScopedView, TemplateView):
    template_name = "agency/dashboard.html"
    required_permission = "agency.view"

    def get_context_data(self, **kwargs):
        self.request.session["last_agency"] = self.agency.slug
        context = super().get_context_data(**kwargs)
        qs = SubAccount.objects.filter(archived_at__isnull=True)
        context["accounts_total"] = qs.count()
        context["accounts_by_status"] = list(qs.values("status").annotate(n=Count("id")).order_by("status"))
        context["accounts_by_platform"] = list(qs.values("platform").annotate(n=Count("id")).order_by("platform"))
        return context
