"""The signed-in person's own security: second factor, recovery codes, sessions, events."""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from .mfa import (
    has_second_factor,
    recovery_codes_left,
    recovery_codes_regenerate,
    second_factor_remove,
    second_factor_verify,
    step_up_is_fresh,
    totp_enrolment_confirm,
    totp_enrolment_start,
    totp_qr_svg,
    totp_secret_b32,
)
from .passkeys import passkey_remove, passkeys_of
from .security import security_events_for, user_sessions_end, user_sessions_for


class CodeForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=32,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "autofocus": True}))


def _next_url(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


class SecurityView(LoginRequiredMixin, View):
    """Overview: second factor, recovery codes left, my sessions, my security events."""

    def get(self, request):
        return render(request, "accounts/security.html", {
            "has_mfa": has_second_factor(request.user),
            "recovery_left": recovery_codes_left(request.user),
            "sessions": user_sessions_for(request.user),
            "current_key": request.session.session_key,
            "events": security_events_for([request.user])[:50],
            "passkeys": passkeys_of(request.user),
        })


class SessionEndView(LoginRequiredMixin, View):
    def post(self, request):
        key = request.POST.get("session", "")
        if key == "others":
            n = user_sessions_end(user=request.user, keep_key=request.session.session_key, request=request)
        else:
            n = user_sessions_end(user=request.user, only_key=key, request=request)
        messages.success(request, _("Signed out of %(n)s session(s).") % {"n": n})
        return HttpResponseRedirect(reverse("accounts:security"))


class MfaSetupView(LoginRequiredMixin, View):
    template_name = "accounts/mfa_setup.html"

    def _render(self, request, form, status=200):
        device = totp_enrolment_start(user=request.user)
        return render(request, self.template_name, {"form": form, "qr": totp_qr_svg(device),
                                                    "secret": totp_secret_b32(device), "has_mfa":
                                                    has_second_factor(request.user),
                                                    "next": _next_url(request, "")}, status=status)

    def get(self, request):
        return self._render(request, CodeForm())

    def post(self, request):
        form = CodeForm(request.POST)
        if form.is_valid():
            codes = totp_enrolment_confirm(request=request, user=request.user, code=form.cleaned_data["code"])
            if codes:
                return render(request, "accounts/recovery_codes.html",
                              {"codes": codes, "next": _next_url(request, reverse("accounts:security"))})
            form.add_error("code", _("That code is not right: check the time on your phone and enter the "
                                     "current code."))
        return self._render(request, form, status=400)


class MfaVerifyView(LoginRequiredMixin, View):
    """The second step of signing in, and the step-up before a sensitive action."""

    template_name = "accounts/mfa_verify.html"

    def get(self, request):
        if not has_second_factor(request.user):
            return HttpResponseRedirect(reverse("accounts:mfa_setup") + "?next=" + _next_url(request, "/"))
        return render(request, self.template_name, {"form": CodeForm(), "next": _next_url(request, "/"),
                                                    "step_up": request.GET.get("step_up") == "1",
                                                    "passkeys": passkeys_of(request.user)})

    def post(self, request):
        form = CodeForm(request.POST)
        if form.is_valid():
            result = second_factor_verify(request=request, user=request.user, code=form.cleaned_data["code"])
            if result:
                return HttpResponseRedirect(_next_url(request, "/"))
            form.add_error("code", result.message)
        return render(request, self.template_name, {"form": form, "next": _next_url(request, "/"),
                                                    "step_up": request.POST.get("step_up") == "1",
                                                    "passkeys": passkeys_of(request.user)}, status=400)


class MfaRemoveView(LoginRequiredMixin, View):
    def post(self, request):
        if not step_up_is_fresh(request):
            messages.info(request, _("Confirm it is you with your second factor, then repeat the action."))
            return HttpResponseRedirect(reverse("accounts:mfa_verify") + "?step_up=1&next="
                                        + reverse("accounts:security"))
        second_factor_remove(user=request.user, request=request)
        messages.success(request, _("The authenticator app was removed. Agencies that require a second factor "
                                    "for your role will ask you to add one again."))
        return HttpResponseRedirect(reverse("accounts:security"))


class RecoveryCodesView(LoginRequiredMixin, View):
    def post(self, request):
        if not step_up_is_fresh(request):
            messages.info(request, _("Confirm it is you with your second factor, then repeat the action."))
            return HttpResponseRedirect(reverse("accounts:mfa_verify") + "?step_up=1&next="
                                        + reverse("accounts:security"))
        codes = recovery_codes_regenerate(user=request.user, request=request)
        return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("accounts:security")})


class PasskeyRemoveView(LoginRequiredMixin, View):
    def post(self, request, pk):
        if not step_up_is_fresh(request):
            messages.info(request, _("Confirm it is you with your second factor, then repeat the action."))
            return HttpResponseRedirect(reverse("accounts:mfa_verify") + "?step_up=1&next="
                                        + reverse("accounts:security"))
        passkey_remove(user=request.user, pk=pk, request=request)
        messages.success(request, _("The passkey was removed."))
        return HttpResponseRedirect(reverse("accounts:security"))
