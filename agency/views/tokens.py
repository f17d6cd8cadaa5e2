"""The member's personal API tokens for this agency: create (the raw token is shown once),
list, revoke."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.models import ApiToken
from accounts.security import (
    DEFAULT_TOKEN_DAYS,
    MAX_TOKEN_DAYS,
    api_token_create,
    api_token_revoke,
    api_tokens_for,
)

from .base import AgencyScopedView


class ApiTokenForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100,
                           help_text=gettext_lazy("What uses it, e.g. “finance spreadsheet”."))
    scope = forms.ChoiceField(label=gettext_lazy("Access"), choices=ApiToken.Scope.choices,
                              initial=ApiToken.Scope.READ_ONLY)
    days = forms.IntegerField(label=gettext_lazy("Valid for (days)"), min_value=1, max_value=MAX_TOKEN_DAYS,
                              initial=DEFAULT_TOKEN_DAYS)


class ApiTokenListView(AgencyScopedView, View):
    required_permission = "agency.view"
    step_up_for = frozenset({"POST"})
    template_name = "agency/tokens.html"

    def _render(self, request, form, raw=None, status=200):
        tokens = api_tokens_for(user=request.user, agency=self.agency)
        return render(request, self.template_name, {"agency": self.agency, "access": self.access, "form": form,
                                                    "tokens": tokens, "raw_token": raw}, status=status)

    def get(self, request):
        return self._render(request, ApiTokenForm())

    def post(self, request):
        form = ApiTokenForm(request.POST)
        if not form.is_valid():
            return self._render(request, form, status=400)
        token, raw = api_token_create(user=request.user, agency=self.agency, name=form.cleaned_data["name"],
                                      scope=form.cleaned_data["scope"], days=form.cleaned_data["days"],
                                      request=request)
        messages.success(request, _("The token “%(name)s” was created. Copy it now: it will not be shown again.")
                         % {"name": token.name})
        return self._render(request, ApiTokenForm(), raw=raw)


class ApiTokenRevokeView(AgencyScopedView, View):
    required_permission = "agency.view"

    def post(self, request, pk):
        token = api_tokens_for(user=request.user, agency=self.agency).filter(pk=pk).first()
        if token is None:
            raise Http404(_("No such token."))
        api_token_revoke(token=token, request=request)
        messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
        return HttpResponseRedirect(reverse("agency:token_list", kwargs={"agency_slug": self.agency.slug}))
