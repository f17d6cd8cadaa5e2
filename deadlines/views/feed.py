"""The secret ICS feed: the token in the URL is the credential (rotate it on the calendar page)."""

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_safe
from django_scopes import scope, scopes_disabled

from agency.timezones import agency_language
from deadlines.models import CalendarFeed
from deadlines.services.feed import calendar_feed_ics


@require_safe  # GET and HEAD (calendar apps check the feed with HEAD)
def ics_feed(request, token: str):
    if len(token) < 20:
        raise Http404
    with scopes_disabled():
        feed = CalendarFeed.objects.select_related("agency").filter(token=token, agency__is_active=True).first()
    if feed is None:
        raise Http404
    with scope(agency=feed.agency):
        body = calendar_feed_ics(agency=feed.agency)  # the agency's language and zone, not the request's
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{feed.agency.slug}-deadlines.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["Referrer-Policy"] = "no-referrer"
    response["Content-Language"] = agency_language(feed.agency)
    return response
