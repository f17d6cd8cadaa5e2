"""Pages outside one agency: the approver's inbox (login) and the owner's signing pages
(no login: the link's token is the credential)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django_scopes import scope

from agency.exceptions import DomainError
from agency.security import step_up_redirect_any_agency

from ..conf import INBOX_PAGE_SIZE, signing_code_max_attempts
from ..selectors import inbox_for_user
from ..services.common import client_meta
from ..services.inbox import approvals_bulk_approve
from ..services.signatures import (
    SIGNING_LANGUAGES,
    LinkInvalid,
    check_usable,
    content_sha256,
    mask_email,
    mask_mobile,
    signature_by_token,
    signature_code_send,
    signature_confirm,
    signature_decline,
)


@method_decorator(login_required, name="dispatch")
class InboxView(View):
    def get(self, request):
        entries = inbox_for_user(request.user)
        agency = request.GET.get("agency", "")
        sort = request.GET.get("sort", "oldest")
        agencies = sorted({(e.agency.slug, e.agency.name) for e in entries})
        if agency:
            entries = [e for e in entries if e.agency.slug == agency]
        if sort == "due":
            entries.sort(key=lambda e: e.stage.due_at)
        page = Paginator(entries, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "approvals/inbox.html", {"page_obj": page, "entries": page.object_list,
                                                        "agencies": agencies, "agency": agency, "sort": sort,
                                                        "total": len(entries)})

    def post(self, request):
        keys = request.POST.getlist("items")
        if not keys:
            messages.error(request, _("Select at least one task to approve."))
            return HttpResponseRedirect(reverse("inbox"))
        needed = step_up_redirect_any_agency(request)  # approving needs a recent second factor
        if needed:
            return needed
        results = approvals_bulk_approve(actor=request.user, keys=keys[:200],
                                         comment=request.POST.get("comment", ""), meta=client_meta(request))
        ok = sum(r["ok"] for r in results)
        if ok:
            messages.success(request, _("%(n)d task(s) approved.") % {"n": ok})
        for r in results:
            if not r["ok"]:
                messages.error(request, f"{r['item']}: {r['message']}")
        return HttpResponseRedirect(reverse("inbox"))


def _lang(request) -> str:
    """?lang= (the switch on the page) wins; then the language chosen in the top bar; else Chinese."""
    lang = request.POST.get("lang") or request.GET.get("lang") or getattr(request, "LANGUAGE_CODE", "")
    return lang if lang in SIGNING_LANGUAGES else "zh-hans"


@method_decorator(never_cache, name="dispatch")
class SignView(View):
    """GET shows what is signed; POST step=code|confirm|decline."""

    def _render(self, request, req, lang, *, notice="", error="", status=200, done=None):
        shown = req.content.get(lang) or {}
        context = {
            "req": req, "content": shown, "lang": lang, "token": self.kwargs["token"], "notice": notice,
            "error": error, "done": done, "content_sha256": content_sha256(req.content, lang),
            "mobile_masked": mask_mobile(req.mobile) if req.mobile else "",
            "email_masked": mask_email(req.email) if req.email else "",
            "attempts_left": max(0, signing_code_max_attempts() - req.code_attempts),
            "code_sent": bool(req.code_hash),
        }
        with translation.override(lang):
            response = render(request, "approvals/sign.html", context, status=status)
        return response

    def _invalid(self, request, exc, lang):
        with translation.override(lang):
            return render(request, "approvals/sign_invalid.html", {"message": exc.message, "lang": lang,
                                                                    "token": self.kwargs["token"]},
                          status=404 if exc.code == "invalid" else 410)

    def get(self, request, token):
        lang = _lang(request)
        try:
            req = signature_by_token(token=token)
            check_usable(req)
        except LinkInvalid as exc:
            return self._invalid(request, exc, lang)
        return self._render(request, req, lang)

    def post(self, request, token):
        lang = _lang(request)
        meta = client_meta(request)
        try:
            req = signature_by_token(token=token)
        except LinkInvalid as exc:
            return self._invalid(request, exc, lang)
        step = request.POST.get("step")
        with scope(agency=req.agency), translation.override(lang):
            try:
                if step == "code":
                    masked = signature_code_send(req=req, channel=request.POST.get("channel", "sms"))
                    req.refresh_from_db()
                    return self._render(request, req, lang, notice=_("A 6-digit code was sent to %(to)s.")
                                        % {"to": masked})
                if step == "confirm":
                    req = signature_confirm(req=req, code=request.POST.get("code", ""),
                                            shown_sha256=request.POST.get("content_sha256", ""), language=lang,
                                            **meta)
                    return self._render(request, req, lang, done="signed")
                if step == "decline":
                    req = signature_decline(req=req, reason=request.POST.get("reason", ""), language=lang, **meta)
                    return self._render(request, req, lang, done="declined")
            except LinkInvalid as exc:
                return self._invalid(request, exc, lang)
            except DomainError as exc:
                req.refresh_from_db()
                return self._render(request, req, lang, error=str(exc.message), status=exc.status_code)
        return self._render(request, req, lang, error=_("Unknown action."), status=400)
