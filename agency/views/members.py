from django.views.generic import TemplateView

from accounts.models import Membership

from .base import AgencyScopedView
from .member_admin import member_admin_context


class MemberListView(AgencyScopedView, TemplateView):
    template_name = "agency/members.html"
    required_permission = "members.view"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["members"] = (
            Membership.objects.filter(agency=self.agency).select_related("user").order_by("role", "user__email")
        )
        # --- members' lifecycle (invitations, role changes, removals): agency/views/member_admin.py
        context.update(member_admin_context(self))
        return context
