"""The tenant-isolation suite. It walks the models and the URL resolver, so that a new
unscoped model or view fails here without anyone having to remember to add a test."""

import pytest
from celery import shared_task
from django.apps import apps
from django_scopes import ScopeError, get_scope, scope

from agency.api.base import AGENCY_SCOPED_BASES
from agency.celery_base import AgencyTask
from agency.exceptions import MissingAgencyError
from agency.models import Agency, AgencyOwned, SubAccount
from agency.views.base import AgencyScopedView

from .urlwalk import agency_routes, all_routes, fill, route_params, view_class_of

PROJECT_APPS = {"accounts", "agency", "shutdown", "approvals", "deadlines", "notifications"}
# Tables that are not tenant-owned, with the reason.
UNSCOPED = {
    "accounts.User": "a person may belong to several agencies",
    "accounts.Membership": "the table that decides which agency scope a request may enter",
    "agency.Agency": "the tenant itself",
}


def project_models():
    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]


def test_every_project_model_is_tenant_owned_or_explicitly_exempt():
    offenders = []
    for model in project_models():
        label = model._meta.label
        if label in UNSCOPED or getattr(model, "TENANCY_EXEMPT_REASON", None):
            continue
        if not issubclass(model, AgencyOwned):
            offenders.append(label)
    assert offenders == [], f"Models without agency_id / scoped manager: {offenders}"


@pytest.mark.django_db
def test_every_scoped_model_raises_without_scope():
    scoped = [m for m in project_models() if issubclass(m, AgencyOwned)]
    assert SubAccount in scoped
    for model in scoped:
        with pytest.raises(ScopeError):
            list(model.objects.all()[:1])


@pytest.mark.django_db
def test_scope_filters_rows_to_the_agency(accounts_a, accounts_b, world_a):
    with scope(agency=world_a.agency):
        ids = set(SubAccount.objects.values_list("id", flat=True))
    assert ids == {a.id for a in accounts_a}


def test_agency_scoped_routes_exist():
    routes = agency_routes()
    assert any(r.startswith("a/") for r, _ in routes)
    assert any(r.startswith("api/") for r, _ in routes)


@pytest.mark.parametrize("route,pattern", agency_routes(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_agency_route_is_served_by_a_scoped_base_class(route, pattern):
    cls = view_class_of(pattern)
    assert cls is not None, f"{route} is a function view: use AgencyScopedView / AgencyScoped*APIView"
    if route.startswith("a/"):
        assert issubclass(cls, AgencyScopedView), f"{route}: {cls} is not an AgencyScopedView"
    else:
        assert issubclass(cls, AGENCY_SCOPED_BASES), f"{route}: {cls} is not an agency-scoped API view"


def test_scoping_cannot_be_overridden():
    with pytest.raises(TypeError):
        type("Sneaky", (AgencyScopedView,), {"dispatch": lambda self, request, *a, **k: None})
    from agency.api.base import AgencyScopedAPIView

    with pytest.raises(TypeError):
        type("SneakyAPI", (AgencyScopedAPIView,), {"initial": lambda self, request, *a, **k: None, "__module__": "x"})


def _slug_only_routes():
    return [(r, p) for r, p in agency_routes() if route_params(r) == ["agency_slug"]]


@pytest.mark.django_db
@pytest.mark.parametrize("route,pattern", _slug_only_routes(), ids=lambda v: v if isinstance(v, str) else "")
def test_a_non_member_gets_404_on_every_agency_page_and_endpoint(route, pattern, worlds):
    a, b = worlds
    path = fill(route, agency_slug=a.agency.slug)
    response = b.client("owner").get(path)
    assert response.status_code == 404, f"{path} answered {response.status_code} to another agency's owner"
    if path.startswith("/api/"):
        assert response.json()["error"]["status"] == 404
    # An unknown slug is 404 as well, for members of any agency.
    response = a.client("owner").get(fill(route, agency_slug="no-such-agency"))
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("route,pattern", _slug_only_routes(), ids=lambda v: v if isinstance(v, str) else "")
def test_anonymous_users_never_see_agency_data(route, pattern, world_a):
    from rest_framework.test import APIClient

    path = fill(route, agency_slug=world_a.agency.slug)
    response = APIClient().get(path)
    assert response.status_code in (302, 401, 403, 404)
    if response.status_code == 302:
        assert "/accounts/login/" in response["Location"]


@shared_task(base=AgencyTask, name="tests.isolation_probe")
def isolation_probe(*, agency_id: int) -> dict:
    """What an agency job sees: its scope and the scoped rows (every real job uses this base)."""
    return {"agency_id": get_scope()["agency"].pk, "total": SubAccount.objects.count()}


@pytest.mark.django_db
def test_task_runs_under_its_agency(world_a, world_b, accounts_a, accounts_b):
    result = isolation_probe.apply(kwargs={"agency_id": world_a.agency.pk}).get()
    assert result["agency_id"] == world_a.agency.pk
    assert result["total"] == len(accounts_a)


@pytest.mark.django_db
def test_task_without_agency_fails(world_a):
    with pytest.raises(MissingAgencyError):
        isolation_probe.apply(kwargs={}).get()


@pytest.mark.django_db
def test_a_job_queued_for_an_agency_deleted_since_is_dropped_with_a_warning(world_a, caplog):
    gone = world_a.agency.pk + 1000
    assert isolation_probe.apply(kwargs={"agency_id": gone}).get() is None
    assert f"agency {gone} no longer exists" in caplog.text
    assert "agency" not in get_scope()


@pytest.mark.django_db
def test_tasks_back_to_back_do_not_share_an_agency(world_a, world_b, accounts_a):
    from .factories import SubAccountFactory

    SubAccountFactory(agency=world_b.agency)
    first = isolation_probe.apply(kwargs={"agency_id": world_a.agency.pk}).get()
    assert "agency" not in get_scope()
    second = isolation_probe.apply(kwargs={"agency_id": world_b.agency.pk}).get()
    assert first == {"agency_id": world_a.agency.pk, "total": 3}
    assert second == {"agency_id": world_b.agency.pk, "total": 1}


def test_agency_model_is_not_scoped():
    assert not issubclass(Agency, AgencyOwned)


# Routes outside /a/<agency>/ and /api/v1/agencies/<agency>/, each with the credential it checks.
# A new one fails test_every_route_outside_an_agency_is_known until it is listed here.
PUBLIC_ROUTES = {
    "accounts/login/": "none (logs in; throttled per username+address and per address)",
    "accounts/logout/": "the session",
    "accounts/password-reset/": "none (sends a reset link to the address on file)",
    "accounts/password-reset/done/": "none (static page)",
    "accounts/reset/<uidb64>/<token>/": "Django's password-reset token",
    "accounts/reset/done/": "none (static page)",
    "i18n/setlang/": "none (sets the language cookie)",
    "inbox/": "login: the approver's own inbox across their agencies",
    "sign/<str:token>/": "the signing link's token (hashed), exchanged for a signing session",
    "s/<str:token>": "the signing link's short form (SMS): the same hashed token as sign/<token>/",
    "sign/s/<str:handle>/": "the signing session bound to one request (cookie + handle + form token)",
    "calendar/<str:token>.ics": "the agency's secret ICS token",
    "api/v1/agencies/": "login: lists only the user's own agencies",
    "api/v1/inbox/": "login: the approver's own inbox",
    "api/v1/inbox/approve/": "login: approves only where the user may decide",
    "api/v1/schema/": "login (DRF default permission)",
    "api/v1/docs/": "login unless API_DOCS_PUBLIC (Swagger UI, no data)",
    "api/v1/redoc/": "login unless API_DOCS_PUBLIC (Redoc, no data)",
    "favicon.ico": "none (the site icon)",
    "accounts/security/": "login: the user's own second factor, sessions and security events",
    "accounts/security/sessions/end/": "login: ends only the user's own sessions",
    "accounts/2fa/setup/": "login: enrols the user's own authenticator",
    "accounts/2fa/verify/": "login (password step done): the user's own second factor",
    "accounts/2fa/remove/": "login + a fresh second-factor check: removes the user's own device",
    "accounts/2fa/recovery-codes/": "login + a fresh second-factor check: the user's own recovery codes",
    "invitations/<str:token>/": "the invitation's single-use token (hashed), for its email address",
    "accounts/2fa/passkeys/<int:pk>/remove/": "login + a fresh second-factor check: the user's own passkey only",
    "accounts/passkeys/registration/begin/": "login, verified session, an authenticator app already: own passkey",
    "accounts/passkeys/registration/complete/": "login + the registration challenge kept in the session",
    "accounts/passkeys/authentication/begin/": "login: challenge for the user's own passkeys (no password-less login)",
    "accounts/passkeys/authentication/complete/": "login + the challenge in the session + the passkey's signature",
    "accounts/passkeys/jsi18n/": "none (the passkey script's texts)",
    "sso/": "none (finds single sign-on by email domain or agency short name; shows only provider names)",
    "sso/<slug:agency_slug>/<slug:provider>/": "none (sends the browser to the agency's identity provider)",
    "sso/<slug:agency_slug>/<slug:provider>/callback/": "the provider's answer: state in the session, code "
    "exchanged server-side, ID token signature/nonce checked; only members, invitees or allowed domains get in",
    "": "login: redirects to the user's agency",
}


def test_every_route_outside_an_agency_is_known():
    outside = {r for r, _p in all_routes()
               if not r.startswith(("a/<slug:agency_slug>/", "api/v1/agencies/<slug:agency_slug>/", "admin/"))}
    assert outside - set(PUBLIC_ROUTES) == set(), "a new route outside the agency prefixes: list it in PUBLIC_ROUTES"


@pytest.mark.django_db
def test_a_signing_page_without_its_session_shows_nothing(world_a):
    from django.test import Client

    for method in ("get", "post"):
        response = getattr(Client(), method)("/sign/s/not-a-session/")
        assert response.status_code == 403
        assert world_a.agency.name not in response.content.decode()


@pytest.mark.django_db
def test_a_wrong_short_signing_token_is_404_and_shows_nothing(world_a):
    from django.test import Client

    for token in ("a" * 20, "not-a-token", "../sign/x"):
        response = Client().get(f"/s/{token}")
        assert response.status_code == 404
        assert world_a.agency.name not in response.content.decode()
        assert "Location" not in response


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["qr", "resend", "revoke"])
def test_signature_actions_of_another_agency_are_404(worlds, action):
    from approvals.models import SignatureRequest
    from shutdown.models import ShutdownTask, TaskItem

    from .factories import SubAccountFactory

    a, b = worlds
    account = SubAccountFactory(agency=a.agency)
    with scope(agency=a.agency):
        task = ShutdownTask.objects.create(agency=a.agency, title="t", strategy="shutdown", created_by=a.user())
        item = TaskItem.objects.create(agency=a.agency, task=task, sub_account=account, state="approved")
        req = SignatureRequest.objects.create(agency=a.agency, task=task, item=item, content={}, content_sha256="0")
    path = f"/a/{b.agency.slug}/approvals/signatures/{req.pk}/{action}/"
    assert b.client("owner").post(path).status_code == 404
    with scope(agency=a.agency):
        assert SignatureRequest.objects.get(pk=req.pk).token_version == 0


@pytest.mark.django_db
def test_a_token_of_one_agency_cannot_reach_another_even_for_a_member_of_both(world_a, world_b):
    """A consultant in both agencies: their token for A is 404 on every endpoint of B."""
    from rest_framework.test import APIClient

    from accounts.models import Membership
    from accounts.security import api_token_create

    user = world_a.user("owner")
    Membership.objects.create(user=user, agency=world_b.agency, role="owner")
    _token, raw = api_token_create(user=user, agency=world_a.agency, name="a", scope="role")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    api_routes = [(r, p) for r, p in _slug_only_routes() if r.startswith("api/")]
    assert api_routes
    for route, _pattern in api_routes:
        response = client.get(fill(route, agency_slug=world_b.agency.slug))
        assert response.status_code in (404, 405), f"{route} answered {response.status_code} to a token of A"
    assert client.get(f"/api/v1/agencies/{world_a.agency.slug}/members/").status_code == 200
    assert client.get("/api/v1/inbox/").status_code == 200
    # Writes too.
    response = client.post(f"/api/v1/agencies/{world_b.agency.slug}/tokens/", {"name": "b"}, format="json")
    assert response.status_code == 404


@pytest.mark.django_db
def test_a_dormant_login_of_another_agency_is_404_on_the_page_and_the_api(worlds):
    """R5.1 login recording (deadlines:dormant_login, api-deadline-dormant-login): B's owner, by B's
    prefix or A's, cannot complete A's deadline."""
    from django.test import Client

    from deadlines.models import Deadline

    from .factories import SubAccountFactory

    a, b = worlds
    account = SubAccountFactory(agency=a.agency, status="dormant")
    with scope(agency=a.agency):
        deadline = Deadline.objects.create(agency=a.agency, sub_account=account, kind="dormant_login", rule="R5.1",
                                           label="Next required login of the dormant account",
                                           effective_at="2030-03-03T10:00+08:00", due_at="2030-04-03T10:00+08:00")
    browser = Client()
    browser.force_login(b.user("owner"))
    for slug in (b.agency.slug, a.agency.slug):
        assert browser.post(f"/a/{slug}/deadlines/dormant-logins/{deadline.pk}/").status_code == 404
        response = b.client("owner").post(f"/api/v1/agencies/{slug}/deadlines/{deadline.pk}/dormant-login/", {},
                                          format="json")
        assert response.status_code == 404
    with scope(agency=a.agency):
        assert Deadline.objects.get(pk=deadline.pk).completed_at is None
        assert Deadline.objects.filter(sub_account=account).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("method,path", [
    ("get", "/a/{b}/approvals/tasks/{task}/approval/"),
    ("post", "/a/{b}/approvals/tasks/{task}/add_approver/"),
    ("post", "/a/{b}/approvals/tasks/{task}/hand_over/"),
    ("post", "/a/{b}/approvals/tasks/{task}/send_back/"),
    ("post", "/a/{b}/approvals/tasks/{task}/copy/"),
    ("post", "/a/{b}/approvals/tasks/{task}/urge/"),
    ("post", "/api/v1/agencies/{b}/shutdown-tasks/{task}/approval/add-approver/"),
    ("post", "/api/v1/agencies/{b}/shutdown-tasks/{task}/approval/hand-over/"),
    ("post", "/api/v1/agencies/{b}/shutdown-tasks/{task}/approval/send-back/"),
    ("post", "/api/v1/agencies/{b}/shutdown-tasks/{task}/approval/copy/"),
    ("post", "/api/v1/agencies/{b}/shutdown-tasks/{task}/approval/urge/"),
    ("get", "/a/{b}/notifications/{note}/open/"),
    ("post", "/a/{b}/notifications/robots/{robot}/delete/"),
    ("post", "/a/{b}/notifications/robots/{robot}/test/"),
    ("get", "/api/v1/agencies/{b}/group-robots/{robot}/"),
    ("patch", "/api/v1/agencies/{b}/group-robots/{robot}/"),
    ("delete", "/api/v1/agencies/{b}/group-robots/{robot}/"),
])
def test_approval_actions_notices_and_robots_of_another_agency_are_404(worlds, method, path):
    """Issue 15's endpoints: ids of agency A through agency B's prefix are 404 and change nothing."""
    from django.utils import timezone

    from approvals.services.decisions import task_submit
    from notifications.models import OutboundMessage, RobotWebhook
    from notifications.robots import robot_webhook_save
    from shutdown.models import TaskEvent

    from .builders import make_task

    a, b = worlds
    task = make_task(a, items=1)
    with scope(agency=a.agency):
        task_submit(agency=a.agency, task=task, actor=a.user("operator"))
        note = OutboundMessage.objects.create(
            agency=a.agency, channel="inapp", kind="approval_request", template_code="approval_request",
            recipient_user=a.user("owner"), send_after=timezone.now(), status="sent", idempotency_key="iso")
        robot = robot_webhook_save(agency=a.agency, name="群", platform="wecom", events=["alert_raised"],
                                   url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc")
        events = TaskEvent.objects.filter(task=task).count()
    # A member of both agencies acting through B's prefix: still 404 (the row belongs to A).
    from accounts.models import Membership

    Membership.objects.create(user=a.user("owner"), agency=b.agency, role="owner")
    client = b.client("owner")
    url = path.format(b=b.agency.slug, task=task.pk, note=note.pk, robot=robot.pk)
    body = {"user": a.user("legal").pk, "where": "after", "users": [a.user("auditor").pk], "comment": "x"}
    response = getattr(client, method)(url, body, format="json") if url.startswith("/api/") else \
        getattr(client, method)(url, body)
    assert response.status_code == 404, f"{method} {url}: {response.status_code}"
    other = a.client("owner")
    other.force_login(a.user("owner"))
    response = getattr(other, method)(url, body, format="json") if url.startswith("/api/") else \
        getattr(other, method)(url, body)
    assert response.status_code == 404, f"{method} {url} as a member of both: {response.status_code}"
    with scope(agency=a.agency):
        assert TaskEvent.objects.filter(task=task).count() == events
        assert OutboundMessage.objects.get(pk=note.pk).read_at is None
        assert RobotWebhook.objects.filter(pk=robot.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method,path", [
    ("post", "/a/{slug}/tasks/{task}/bulk/"),
    ("get", "/a/{slug}/tasks/{task}/confirm/execute/"),
    ("get", "/a/{slug}/tasks/{task}/confirm/cancel/"),
    ("get", "/a/{slug}/tasks/{task}/receipts/"),
    ("post", "/a/{slug}/tasks/{task}/receipts/"),
    ("post", "/a/{slug}/tasks/{task}/receipts/{receipts}/confirm/"),
    ("post", "/api/v1/agencies/{slug}/shutdown-tasks/{task}/bulk/"),
    ("post", "/api/v1/agencies/{slug}/shutdown-tasks/{task}/receipts/"),
])
def test_bulk_receipts_and_confirmation_endpoints_are_404_across_agencies(worlds, method, path):
    """Issue 15's endpoints: another agency's owner gets 404 (in B's URL for A's task, and in A's URL)
    and nothing of A changes."""
    from shutdown.models import ReceiptImport, TaskItem

    from .builders import make_task

    a, b = worlds
    task = make_task(a, state="executing")
    with scope(agency=a.agency):
        receipts = ReceiptImport.objects.create(agency=a.agency, task=task, original_name="r.csv", content=b"x")
    for slug in (b.agency.slug, a.agency.slug):
        url = path.format(slug=slug, task=task.pk, receipts=receipts.pk)
        if "/api/" in url:
            response = getattr(b.client("owner"), method)(url, {"action": "exclude", "filter": {}}, format="json")
        else:
            response = getattr(b.client("owner"), method)(url, {"action": "exclude", "all_matching": "1"})
        assert response.status_code == 404, f"{url} answered {response.status_code} to another agency's owner"
    with scope(agency=a.agency):
        assert not TaskItem.objects.filter(task=task, state="excluded").exists()
        assert ReceiptImport.objects.get(pk=receipts.pk).status == "previewed"


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["confirm", "cancel"])
def test_a_pending_import_of_another_agency_cannot_be_confirmed_or_cancelled(worlds, action):
    """The import waiting for its confirmation (a file in storage under agency A's folder): B's owner
    gets 404 in B's URL with A's id and in A's URL; A's file and its row stay as they were."""
    from django.core.files.storage import default_storage
    from django.core.files.uploadedfile import SimpleUploadedFile

    from agency.models import SubAccountImport

    from .agency.subaccount_helpers import HEADER, csv_bytes

    a, b = worlds
    content = csv_bytes([HEADER, ["douyin", "dy_iso_1", "隔离号", "personal", "1,000", "", "", "", ""]])
    response = a.client("operator").post(f"/a/{a.agency.slug}/sub-accounts/import/",
                                         {"file": SimpleUploadedFile("名单.csv", content)})
    assert response.status_code == 200
    with scope(agency=a.agency):
        pending = SubAccountImport.objects.latest("pk")
    before = (pending.status, pending.file.name)
    for slug in (b.agency.slug, a.agency.slug):
        response = b.client("owner").post(f"/a/{slug}/sub-accounts/import/{pending.pk}/{action}/")
        assert response.status_code == 404, f"{slug}: {action} answered {response.status_code}"
        assert "隔离号" not in response.content.decode()
    with scope(agency=a.agency):
        again = SubAccountImport.objects.get(pk=pending.pk)
        assert (again.status, again.file.name) == before
        assert not SubAccount.objects.filter(platform_account_id="dy_iso_1").exists()
    assert default_storage.exists(before[1])
