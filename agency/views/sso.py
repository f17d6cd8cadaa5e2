"""Single sign-on pages: choosing a provider on the sign-in side, the round trip to the provider,
and the agency admin's page that links providers (agency/sso.py holds the rules)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.csp import CSP
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.roles import Role
from agency.exceptions import DomainValidationError
from agency.models import IdentityProvider
from agency.sso import (
    MASK,
    SsoRefused,
    callback_uri,
    provider_delete,
    provider_find,
    provider_save,
    providers_all,
    providers_for_login,
    sso_begin,
    sso_complete,
    sso_password_login_set,
    sso_start_url,
)

from .base import AgencyScopedView


def _safe_next(request, url: str) -> str:
    return (
        url
        if url
        and url_has_allowed_host_and_scheme(url, {request.get_host()}, require_https=request.is_secure())
        else ""
    )


# The choice form submits to this page, which redirects on to the identity provider: browsers
# check that redirect chain against the page's form-action, so this page (and only it) allows
# HTTPS targets, and plain HTTP on the loopback address for a provider run locally.
CHOOSE_PAGE_CSP = {
    **settings.SECURE_CSP,
    "form-action": [CSP.SELF, "https:", "http://127.0.0.1:*", "http://localhost:*"],
}


class SsoChooseView(View):
    """Sign in with single sign-on: by a work email (its domain) or the agency's short name."""

    def get(self, request):
        response = self._get(request)
        response._csp_config = CHOOSE_PAGE_CSP
        return response

    def _get(self, request):
        query = (request.GET.get("q") or "").strip()
        next_url = _safe_next(request, request.GET.get("next", ""))
        providers = providers_for_login(query) if query else []
        if len(providers) == 1:
            return HttpResponseRedirect(sso_start_url(providers[0], next_url))
        return render(
            request,
            "agency/sso_choose.html",
            {
                "query": query,
                "providers": [(p, sso_start_url(p, next_url)) for p in providers],
                "next": next_url,
                "none_found": bool(query) and not providers,
            },
        )


class SsoLoginView(View):
    def get(self, request, agency_slug, provider):
        idp = provider_find(agency_slug, provider)
        if idp is None:
            return render(
                request,
                "agency/sso_refused.html",
                {
                    "problem": _(
                        "This single sign-on is not set up (or was turned off). Ask your agency admin."
                    )
                },
                status=404,
            )
        try:
            url = sso_begin(
                request=request, provider=idp, next_url=_safe_next(request, request.GET.get("next", ""))
            )
        except SsoRefused as exc:
            return render(request, "agency/sso_refused.html", {"problem": exc.message}, status=502)
        return HttpResponseRedirect(url)


class SsoCallbackView(View):
    def get(self, request, agency_slug, provider):
        idp = provider_find(agency_slug, provider)
        if idp is None:
            return render(
                request,
                "agency/sso_refused.html",
                {
                    "problem": _(
                        "This single sign-on is not set up (or was turned off). Ask your agency admin."
                    )
                },
                status=404,
            )
        try:
            _user, next_url = sso_complete(request=request, provider=idp)
        except SsoRefused as exc:
            return render(
                request, "agency/sso_refused.html", {"problem": exc.message, "provider": idp}, status=403
            )
        return HttpResponseRedirect(next_url)


# --- the agency admin's page ----------------------------------------------------------------


class ProviderForm(forms.ModelForm):
    client_secret = forms.CharField(
        label=gettext_lazy("Client secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    auto_join_role = forms.ChoiceField(
        label=gettext_lazy("Role of people who join this way"),
        choices=[c for c in Role.choices if c[0] != Role.OWNER],
        initial=Role.AUDITOR,
    )

    class Meta:
        model = IdentityProvider
        fields = [
            "kind",
            "display_name",
            "slug",
            "issuer",
            "client_id",
            "client_secret",
            "corp_id",
            "email_domains",
            "auto_join",
            "auto_join_role",
            "trust_idp_mfa",
            "is_active",
        ]
        help_texts = {
            "issuer": gettext_lazy("OpenID Connect only, e.g. https://login.example.com/realms/agency"),
            "client_id": gettext_lazy("WeCom: the app's AgentId."),
            "corp_id": gettext_lazy(
                "WeCom: the corporation ID (required). DingTalk: corpId, Feishu: tenant key — "
                "when set, only people of that organisation get in and their email is trusted."
            ),
            "email_domains": gettext_lazy("Comma-separated, e.g. example.com, example.cn"),
            "trust_idp_mfa": gettext_lazy(
                "OpenID Connect: when the provider reports a second factor (amr claim), "
                "members need not enter their code at sign-in. Confirmations of "
                "sensitive actions still ask for it."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.has_secret:
            self.fields["client_secret"].help_text = _(
                "Stored (%(mask)s). Leave empty to keep it; enter a new one to replace it."
            ) % {"mask": MASK}


class AgencySsoView(AgencyScopedView, View):
    """List the agency's identity providers, add one, and choose whether passwords stay allowed."""

    required_permission = "security.manage"
    step_up_for = frozenset({"POST"})

    def _render(self, request, form, status=200, editing=None):
        providers = providers_all(self.agency)
        return render(
            request,
            "agency/sso_settings.html",
            self.get_context_data(
                form=form,
                providers=[(p, callback_uri(request, p)) for p in providers],
                editing=editing,
                password_login=(self.agency.settings or {}).get("password_login_allowed", True),
                mask=MASK,
                callback_example=request.build_absolute_uri(
                    reverse(
                        "sso_callback", kwargs={"agency_slug": self.agency.slug, "provider": "SHORT-NAME"}
                    )
                ),
            ),
            status=status,
        )

    def get(self, request):
        return self._render(request, ProviderForm())

    def post(self, request):
        if "password_login" in request.POST:
            try:
                sso_password_login_set(
                    agency=self.agency, actor=request.user, allowed=request.POST.get("password_login") == "1"
                )
            except DomainValidationError as exc:
                messages.error(request, str(exc.message))
            else:
                messages.success(request, _("The sign-in settings were saved."))
            return HttpResponseRedirect(reverse("agency:sso", kwargs={"agency_slug": self.agency.slug}))
        return _save(self, request, ProviderForm(request.POST))


def _save(view, request, form, provider=None):
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "client_secret"}
        try:
            saved = provider_save(
                agency=view.agency,
                actor=request.user,
                data=data,
                provider=provider,
                client_secret=form.cleaned_data.get("client_secret", ""),
            )
        except DomainValidationError as exc:
            for name, message in exc.details.items():
                form.add_error(name if name in form.fields else None, message)
        else:
            messages.success(
                request,
                _("“%(name)s” was saved. The client secret is stored sealed and will not be shown again.")
                % {"name": saved.display_name},
            )
            return HttpResponseRedirect(reverse("agency:sso", kwargs={"agency_slug": view.agency.slug}))
    return view._render(request, form, status=400, editing=provider)


class AgencySsoEditView(AgencySsoView):
    def get(self, request, pk):
        provider = get_object_or_404(IdentityProvider.objects.all(), pk=pk)
        return self._render(request, ProviderForm(instance=provider), editing=provider)

    def post(self, request, pk):
        provider = get_object_or_404(IdentityProvider.objects.all(), pk=pk)
        if request.POST.get("delete"):
            provider_delete(agency=self.agency, actor=request.user, provider=provider)
            messages.success(request, _("“%(name)s” was removed.") % {"name": provider.display_name})
            return HttpResponseRedirect(reverse("agency:sso", kwargs={"agency_slug": self.agency.slug}))
        return _save(self, request, ProviderForm(request.POST, instance=provider), provider=provider)
