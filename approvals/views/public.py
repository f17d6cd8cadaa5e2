"""Pages outside one agency: the approver's inbox (login) and the owner's signing pages
(no login: the link's token is the credential, exchanged at the first visit for a short
session bound to that request, so that the token leaves the address bar)."""

import hmac
import secrets
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django_scopes import scope

from accounts.net import client_ip, rate_limit_hit
from agency.exceptions import DomainError
from agency.privacy import mask_address
from agency.security import step_up_redirect_any_agency

from ..conf import INBOX_PAGE_SIZE, signing_code_max_attempts
from ..selectors import inbox_with_summaries
from ..services.common import client_meta
from ..services.inbox import approvals_bulk_approve
from ..services.signatures import (
    SIGNING_LANGUAGES,
    LinkInvalid,
    check_usable,
    content_sha256,
    signature_by_session,
    signature_by_token,
    signature_code_send,
    signature_confirm,
    signature_decline,
)


@method_decorator(login_required, name="dispatch")
class InboxView(View):
    def get(self, request):
        entries = inbox_with_summaries(request.user)
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


SESSION_KEY = "signing"
MAX_BOUND = 10  # requests one browser session may hold at once (an owner of several accounts)


def _lang(request, entry: dict | None = None) -> str:
    """?lang= (the switch on the page) wins; then the one chosen earlier in this signing session;
    then the language of the browser / top bar; else Chinese."""
    lang = (request.POST.get("lang") or request.GET.get("lang") or (entry or {}).get("lang")
            or getattr(request, "LANGUAGE_CODE", ""))
    return lang if lang in SIGNING_LANGUAGES else "zh-hans"


def _render(request, template: str, context: dict, *, lang: str, status: int = 200):
    with translation.override(lang):
        response = render(request, template, {"lang": lang, **context}, status=status)
    response["Referrer-Policy"] = "no-referrer"
    return response


def _invalid(request, exc: LinkInvalid, lang: str):
    status = 404 if exc.code == "invalid" else 410
    return _render(request, "approvals/sign_invalid.html", {"message": exc.message, "title": exc.title,
                                                            "used": exc.code in ("signed", "declined")},
                   lang=lang, status=status)


@method_decorator(never_cache, name="dispatch")
class _SigningView(View):
    """Per client address, every signing page counts against the `signing` rate (429 past it)."""

    throttle_scope = "signing"

    def dispatch(self, request, *args, **kwargs):
        wait = rate_limit_hit(scope=self.throttle_scope, ident=client_ip(request))
        if wait:
            return throttled(request, wait=wait, lang=_lang(request))
        return super().dispatch(request, *args, **kwargs)


def throttled(request, *, wait: int, lang: str):
    response = _render(request, "approvals/sign_throttled.html", {"wait": wait}, lang=lang, status=429)
    response["Retry-After"] = str(wait)
    return response


class SignLinkView(_SigningView):
    """/sign/<token>/: the link from the message. Its token is exchanged for a signing session
    bound to the request (SIGNING_SESSION_MINUTES) and the owner is sent to a token-free page."""

    http_method_names = ["get", "head"]

    def get(self, request, token):
        lang = _lang(request)
        try:
            with translation.override(lang):
                req = signature_by_token(token=token)
        except LinkInvalid as exc:
            return _invalid(request, exc, lang)
        bound = {h: e for h, e in request.session.get(SESSION_KEY, {}).items()
                 if e.get("until", 0) > time.time() and e.get("req") != req.pk}
        while len(bound) >= MAX_BOUND:
            bound.pop(min(bound, key=lambda h: bound[h]["until"]))
        handle = secrets.token_urlsafe(12)
        chosen = request.GET.get("lang", "")
        bound[handle] = {"req": req.pk, "v": req.token_version, "lang": chosen if chosen in SIGNING_LANGUAGES else "",
                         "until": time.time() + 60 * int(settings.SIGNING_SESSION_MINUTES),
                         "form": secrets.token_urlsafe(16)}
        request.session[SESSION_KEY] = bound
        response = HttpResponseRedirect(reverse("approvals-sign-session", kwargs={"handle": handle}))
        response["Referrer-Policy"] = "no-referrer"
        return response


@method_decorator(csrf_exempt, name="dispatch")
class SignView(_SigningView):
    """/sign/s/<handle>/: what is signed; POST step=code|confirm|decline. Both signing and
    declining need the one-time code sent to the owner.

    Forgery protection of its own, because `Referrer-Policy: no-referrer` makes browsers send
    `Origin: null` and no Referer, which Django's CSRF check refuses: a POST needs the session
    cookie (SameSite=Lax: never sent by another site's form), the random handle in the path and
    the form token of that session entry.
    """

    def _entry(self, request):
        entry = request.session.get(SESSION_KEY, {}).get(self.kwargs["handle"])
        if not entry or entry.get("until", 0) <= time.time():
            return None
        return entry

    def _expired(self, request, lang):
        return _render(request, "approvals/sign_invalid.html", {
            "message": _("This page has timed out. Open the link in your message again."),
            "title": _("Page timed out")}, lang=lang, status=403)

    def _page(self, request, req, lang, *, notice="", error="", status=200, done=None):
        with timezone.override(req.agency.tz):  # the link's expiry in the agency's zone
            return self._page_in_zone(request, req, lang, notice=notice, error=error, status=status, done=done)

    def _page_in_zone(self, request, req, lang, *, notice, error, status, done):
        return _render(request, "approvals/sign.html", {
            "form_token": (self._entry(request) or {}).get("form", ""),
            "req": req, "content": req.content.get(lang) or {}, "notice": notice, "error": error, "done": done,
            "content_sha256": content_sha256(req.content, lang),
            "mobile_masked": mask_address(req.mobile),
            "email_masked": mask_address(req.email),
            "attempts_left": max(0, signing_code_max_attempts() - req.code_attempts),
            "code_sent": bool(req.code_hash),
        }, lang=lang, status=status)

    def _bound(self, request):
        entry = self._entry(request)
        lang = _lang(request, entry)
        if entry is None:
            return None, lang, self._expired(request, lang)
        if lang != entry.get("lang"):
            entry["lang"] = lang
            request.session.modified = True
        try:
            with translation.override(lang):
                return signature_by_session(req_id=entry["req"], version=entry["v"]), lang, None
        except LinkInvalid as exc:
            return None, lang, _invalid(request, exc, lang)

    def get(self, request, handle):
        req, lang, response = self._bound(request)
        if response is not None:
            return response
        try:
            with translation.override(lang):
                check_usable(req)
        except LinkInvalid as exc:
            return _invalid(request, exc, lang)
        return self._page(request, req, lang)

    def post(self, request, handle):
        req, lang, response = self._bound(request)
        if response is not None:
            return response
        expected = self._entry(request).get("form", "")
        if not (expected and hmac.compare_digest(expected, request.POST.get("form_token", ""))):
            return self._expired(request, lang)
        meta = client_meta(request)
        step = request.POST.get("step")
        with scope(agency=req.agency), translation.override(lang):
            try:
                if step == "code":
                    wait = rate_limit_hit(scope="signing_code", ident=meta["ip_address"])
                    if wait:
                        return throttled(request, wait=wait, lang=lang)
                    masked = signature_code_send(req=req, channel=request.POST.get("channel", "sms"))
                    req.refresh_from_db()
                    return self._page(request, req, lang, notice=_("A 6-digit code was sent to %(to)s.")
                                      % {"to": masked})
                if step == "confirm":
                    req = signature_confirm(req=req, code=request.POST.get("code", ""),
                                            shown_sha256=request.POST.get("content_sha256", ""), language=lang,
                                            **meta)
                    return self._page(request, req, lang, done="signed")
                if step == "decline":
                    req = signature_decline(req=req, reason=request.POST.get("reason", ""),
                                            code=request.POST.get("code", ""), language=lang, **meta)
                    return self._page(request, req, lang, done="declined")
            except LinkInvalid as exc:
                return _invalid(request, exc, lang)
            except DomainError as exc:
                req.refresh_from_db()
                return self._page(request, req, lang, error=str(exc.message), status=exc.status_code)
        return self._page(request, req, lang, error=_("Unknown action."), status=400)
