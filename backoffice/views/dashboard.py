from django.views.generic import TemplateView

from agency.views.base import AgencyScopedView
from backoffice.dashboard import dashboard_data


class DashboardView(AgencyScopedView, TemplateView):
    template_name = "backoffice/index.html"
    required_permission = "agency.view"

    def get_context_data(self, **kwargs):
        self.request.session["last_agency"] = self.agency.slug
        context = super().get_context_data(**kwargs)
        context.update(dashboard_data(agency=self.agency, user=self.request.user))
        return context
