from django.views.generic import TemplateView

from accounts.models import Membership

from .base import AgencyScopedView


class MemberListView(AgencyScopedView, TemplateView):
    template_name = "agency/members.html"
    required_permission = "members.view"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["members"] = (
            Membership.objects.filter(agency=self.agency).select_related("user").order_by("role", "user__email")
        )
        return context
