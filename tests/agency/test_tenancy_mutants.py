"""The tenancy choke point and both base classes, at their edges: the agency a request lands in,
what a read-only token may do, when a second factor is asked for, and that a page or an API body
is rendered inside the agency's scope.

Written from the survivors of `make mutation MODULES=tenancy` (agency/tenancy.py,
agency/views/base.py, agency/api/base.py). The probe views are called directly (no URL), as
tests/agency/test_api_foundation.py does, so this file stays fast."""

import json

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template import engines
from django.test import RequestFactory
from django.views.generic import TemplateView
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from accounts.models import ApiToken
from accounts.security import api_token_create
from agency.api.base import AgencyScopedAPIView, AgencyScopedGenericViewSet
from agency.exceptions import Conflict, DomainValidationError
from agency.models import SubAccount
from agency.security import agency_security_policy_update
from agency.tenancy import resolve_agency_access
from agency.views.base import AgencyScopedView

from ..factories import AgencyFactory, MembershipFactory, UserFactory

READ_ONLY_MESSAGE = "This API token is read-only."
STEP_UP_MESSAGE = "This action needs your second factor"


def second_factor(user):
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


# --- the choke point ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_nobody_signed_in_sees_no_agency(world_a):
    for user in (None, AnonymousUser()):
        with pytest.raises(Http404):
            resolve_agency_access(user=user, agency_slug=world_a.agency.slug, permission=None)


@pytest.mark.django_db
def test_a_member_of_several_agencies_lands_in_the_one_asked_for_with_its_role():
    # Listed by name (the order the memberships are read in), slugs in another order.
    mid = AgencyFactory(slug="m-mid", name="1 甲机构")
    low = AgencyFactory(slug="a-low", name="2 乙机构")
    high = AgencyFactory(slug="z-high", name="3 丙机构")
    user = UserFactory()
    for agency, role in ((mid, "owner"), (low, "auditor"), (high, "operator")):
        MembershipFactory(user=user, agency=agency, role=role)
    for agency, role in ((mid, "owner"), (low, "auditor"), (high, "operator")):
        access = resolve_agency_access(user=user, agency_slug=agency.slug, permission="agency.view")
        assert (access.agency, access.role, access.read_only) == (agency, role, False)
    with pytest.raises(Http404):
        resolve_agency_access(user=user, agency_slug="b-none", permission=None)
    # The role decides: the auditor may not edit in its agency, the owner may in hers.
    with pytest.raises(PermissionDenied) as exc:
        resolve_agency_access(user=user, agency_slug="a-low", permission="subaccounts.edit")
    assert "This needs one of these roles" in str(exc.value)
    assert resolve_agency_access(user=user, agency_slug="m-mid", permission="subaccounts.edit").can(
        "subaccounts.edit"
    )


@pytest.mark.django_db
def test_a_token_opens_its_own_agency_only_even_for_a_member_of_both(world_a, world_b):
    user = world_a.user("operator")
    MembershipFactory(user=user, agency=world_b.agency, role="operator")
    token_a, _raw = api_token_create(user=user, agency=world_a.agency, name="a", scope=ApiToken.Scope.ROLE)
    token_b, _raw = api_token_create(user=user, agency=world_b.agency, name="b", scope=ApiToken.Scope.ROLE)
    for token, own, other in ((token_a, world_a, world_b), (token_b, world_b, world_a)):
        access = resolve_agency_access(
            user=user, agency_slug=own.agency.slug, permission="subaccounts.edit", token=token
        )
        assert access.agency == own.agency
        assert access.read_only is False
        with pytest.raises(Http404):
            resolve_agency_access(user=user, agency_slug=other.agency.slug, permission=None, token=token)


@pytest.mark.django_db
def test_a_read_only_token_reads_only_what_an_auditor_may_read(world_a):
    owner = world_a.user("owner")
    token, _raw = api_token_create(user=owner, agency=world_a.agency, name="ro")
    access = resolve_agency_access(
        user=owner, agency_slug=world_a.agency.slug, permission="subaccounts.view", token=token
    )
    assert access.read_only is True
    assert access.can("subaccounts.view") and access.can("audit.export")
    assert not access.can("subaccounts.edit")
    # The owner may edit and see contacts, her read-only token may not (an auditor may not either).
    for permission in ("subaccounts.edit", "subaccounts.contacts"):
        with pytest.raises(PermissionDenied) as exc:
            resolve_agency_access(
                user=owner, agency_slug=world_a.agency.slug, permission=permission, token=token
            )
        assert str(exc.value) == READ_ONLY_MESSAGE
    # An auditor's read-only token asked to edit: the role is the reason, not the token.
    auditor = world_a.user("auditor")
    token, _raw = api_token_create(user=auditor, agency=world_a.agency, name="ro")
    with pytest.raises(PermissionDenied) as exc:
        resolve_agency_access(
            user=auditor, agency_slug=world_a.agency.slug, permission="subaccounts.edit", token=token
        )
    assert "This needs one of these roles" in str(exc.value)


# --- the API base classes -------------------------------------------------------------------------
class _Probe(AgencyScopedAPIView):
    required_permissions = {"GET": "subaccounts.view", "POST": "subaccounts.edit"}
    step_up_for = frozenset({"POST"})

    def get(self, request):
        # Read when the body is rendered (the manager itself is called then), which must happen
        # inside the scope.
        return Response({"ids": _ReadOnRender()})

    def post(self, request):
        return Response({"saved": True}, status=201)


class _ReadOnRender:
    """Iterated by the renderer: the scoped manager is called only then."""

    def __iter__(self):
        return iter(SubAccount.objects.order_by("platform_account_id").values_list("platform_account_id", flat=True))


class _ContactsProbe(AgencyScopedAPIView):
    required_permissions = {"GET": "subaccounts.contacts"}

    def get(self, request):
        return Response({"mobiles": []})


class _ProbeSet(AgencyScopedGenericViewSet):
    required_permissions = {"create": "subaccounts.edit"}  # list: default_permission
    step_up_for = frozenset({"create"})

    def list(self, request, *args, **kwargs):
        return Response({"count": SubAccount.objects.count()})

    def create(self, request, *args, **kwargs):
        return Response({"saved": True}, status=201)


def api_call(view, method, user, slug, *, token=None, headers=None):
    factory = APIRequestFactory()
    request = getattr(factory, method)(f"/api/v1/agencies/{slug}/probe/", {}, format="json", headers=headers)
    force_authenticate(request, user=user, token=token)
    response = view(request, agency_slug=slug)
    if not response.is_rendered:
        response.render()  # as the handler would, after the view (and its scope) has returned
    return response


def message(response) -> str:
    return response.data["error"]["message"]


probe = _Probe.as_view()
probe_set = _ProbeSet.as_view({"get": "list", "post": "create"})


@pytest.mark.django_db
def test_an_api_body_is_rendered_inside_the_agency_scope(world_a, world_b, accounts_a, accounts_b):
    response = api_call(probe, "get", world_a.user("auditor"), world_a.agency.slug)
    assert response.status_code == 200
    with world_a.scope():
        expected = sorted(a.platform_account_id for a in accounts_a)
    assert json.loads(response.content)["ids"] == expected


@pytest.mark.django_db
def test_api_writes_need_the_step_up_reads_do_not(world_a):
    operator = world_a.user("operator")
    assert (
        api_call(probe, "post", operator, world_a.agency.slug).status_code == 201
    )  # no second factor set up
    second_factor(operator)
    assert api_call(probe, "get", operator, world_a.agency.slug).status_code == 200
    response = api_call(probe, "post", operator, world_a.agency.slug)
    assert response.status_code == 403
    assert message(response).startswith(STEP_UP_MESSAGE)
    # Viewset actions: the same, by action name.
    assert api_call(probe_set, "get", operator, world_a.agency.slug).status_code == 200
    response = api_call(probe_set, "post", operator, world_a.agency.slug)
    assert response.status_code == 403
    assert message(response).startswith(STEP_UP_MESSAGE)


@pytest.mark.django_db
def test_viewset_actions_take_their_own_permission_the_rest_the_default(world_a):
    auditor = world_a.user("auditor")
    assert api_call(probe_set, "get", auditor, world_a.agency.slug).data == {"count": 0}
    response = api_call(probe_set, "post", auditor, world_a.agency.slug)
    assert response.status_code == 403
    assert "This needs one of these roles" in message(response)
    assert api_call(probe_set, "post", world_a.user("operator"), world_a.agency.slug).status_code == 201


@pytest.mark.django_db
def test_a_read_only_token_reads_but_never_writes_through_the_api(world_a):
    owner = world_a.user("owner")
    token, _raw = api_token_create(user=owner, agency=world_a.agency, name="ro")
    assert api_call(probe, "get", owner, world_a.agency.slug, token=token).status_code == 200
    for view, method in ((probe, "post"), (_ContactsProbe.as_view(), "get"), (probe_set, "post")):
        response = api_call(view, method, owner, world_a.agency.slug, token=token)
        assert response.status_code == 403
        assert message(response) == READ_ONLY_MESSAGE
    # The same owner without the token (her session) may do all of it.
    assert api_call(probe, "post", owner, world_a.agency.slug).status_code == 201
    assert api_call(_ContactsProbe.as_view(), "get", owner, world_a.agency.slug).status_code == 200


@pytest.mark.django_db
def test_an_agency_requiring_a_second_factor_refuses_sessions_without_one_not_tokens(world_a):
    agency_security_policy_update(agency=world_a.agency, mfa_roles=["operator"], password_login=True)
    operator = world_a.user("operator")
    response = api_call(probe_set, "get", operator, world_a.agency.slug)
    assert response.status_code == 403
    assert "requires a second factor for your role" in message(response)
    token, _raw = api_token_create(user=operator, agency=world_a.agency, name="ci")
    assert api_call(probe_set, "get", operator, world_a.agency.slug, token=token).status_code == 200
    assert api_call(probe_set, "get", world_a.user("legal"), world_a.agency.slug).status_code == 200


def test_no_api_view_from_any_app_may_take_over_the_scoping():
    for module in ("tests.agency.sneaky", "accounts.api.sneaky", "zz.sneaky"):
        for name in ("dispatch", "initial", "setup_agency"):
            with pytest.raises(TypeError):
                type(
                    "Sneaky", (AgencyScopedAPIView,), {name: lambda self, *a, **k: None, "__module__": module}
                )
    type(
        "Fine", (AgencyScopedAPIView,), {"get": lambda self, request: None, "__module__": "accounts.api.fine"}
    )
    for name in ("dispatch", "setup_agency"):
        with pytest.raises(TypeError):
            type("Sneaky", (AgencyScopedView,), {name: lambda self, *a, **k: None})


# --- the HTML base class --------------------------------------------------------------------------
PAGE = engines["django"].from_string(
    "{{ agency.name }}|{{ view.marker }}|{% for a in accounts %}{{ a.platform_account_id }},{% endfor %}"
)


class _Page(AgencyScopedView, TemplateView):
    required_permission = "subaccounts.view"
    permission_by_method = {"POST": "subaccounts.edit"}
    step_up_for = frozenset({"POST"})
    marker = "probe"
    template_name = "unused.html"

    def get_template_names(self):
        return []

    def render_to_response(self, context, **kwargs):
        return self.response_class(request=self.request, template=PAGE, context=context, **kwargs)

    def get_context_data(self, **kwargs):
        # A callable: the template calls it (and so the scoped manager) while it renders.
        return super().get_context_data(accounts=lambda: SubAccount.objects.order_by("platform_account_id"), **kwargs)

    def post(self, request):
        return HttpResponse("saved")


class _Refusing(AgencyScopedView):
    def post(self, request):
        raise Conflict("Already decided.")

    def put(self, request):
        raise DomainValidationError("Bad date.")


def page_call(view, method, user, slug, **extra):
    request = getattr(RequestFactory(), method)(f"/a/{slug}/probe/?x=1", **extra)
    request.user = user
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    response = view.as_view()(request, agency_slug=slug)
    if hasattr(response, "render") and not response.is_rendered:
        response.render()  # as the handler would, after the view (and its scope) has returned
    return request, response


@pytest.mark.django_db
def test_a_page_is_rendered_inside_the_agency_scope(world_a, world_b, accounts_a, accounts_b):
    _request, response = page_call(_Page, "get", world_a.user("auditor"), world_a.agency.slug)
    assert response.status_code == 200
    with world_a.scope():
        ids = "".join(
            f"{a.platform_account_id}," for a in sorted(accounts_a, key=lambda a: a.platform_account_id)
        )
    assert response.content.decode() == f"{world_a.agency.name}|probe|{ids}"


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(world_a):
    _request, response = page_call(_Page, "get", AnonymousUser(), world_a.agency.slug)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
def test_a_page_asks_for_the_step_up_on_post_only(world_a):
    operator = world_a.user("operator")
    assert page_call(_Page, "post", operator, world_a.agency.slug)[1].content == b"saved"  # no second factor
    second_factor(operator)
    assert page_call(_Page, "get", operator, world_a.agency.slug)[1].status_code == 200
    _request, response = page_call(_Page, "post", operator, world_a.agency.slug)
    assert response.status_code == 302
    assert "/accounts/2fa/verify/" in response["Location"] and "step_up=1" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("method,text", [("post", "Already decided."), ("put", "Bad date.")])
def test_a_refused_action_goes_back_where_the_user_was_with_the_reason(world_a, method, text):
    operator = world_a.user("operator")
    request, response = page_call(
        _Refusing,
        method,
        operator,
        world_a.agency.slug,
        headers={"referer": "http://testserver/a/alpha-mcn/tasks/7/"},
    )
    assert (response.status_code, response["Location"]) == (302, "http://testserver/a/alpha-mcn/tasks/7/")
    assert [str(m) for m in get_messages(request)] == [text]
    request, response = page_call(_Refusing, method, operator, world_a.agency.slug)  # no referer
    assert (response.status_code, response["Location"]) == (302, "/a/alpha-mcn/probe/?x=1")
