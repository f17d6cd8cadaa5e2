from django.views.generic import ListView

from agency.models import SubAccount

from .base import AgencyScopedView


class SubAccountListView(AgencyScopedView, ListView):
    template_name = "agency/subaccount_list.html"
    required_permission = "subaccounts.view"
    paginate_by = 50
    context_object_name = "subaccounts"

    def get_queryset(self):
        return SubAccount.objects.filter(archived_at__isnull=True).order_by("platform", "display_name")
