"""Members' lifecycle on the members page: invite, resend, withdraw, change a role, remove,
and the record of who did what when. The accept page is outside any agency (the link is the
credential)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from accounts.models import Membership, User
from accounts.roles import Role
from agency.exceptions import Conflict
from agency.models import Invitation, MemberChange
from agency.services.members import (
    invitation_accept,
    invitation_create,
    invitation_find,
    invitation_problem,
    invitation_resend,
    invitation_revoke,
    member_remove,
    member_role_change,
)

from .base import AgencyScopedView

HISTORY_ROWS = 50


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"))
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Role.choices, initial=Role.OPERATOR)


def member_admin_context(view) -> dict:
    """What the members page shows of the lifecycle (pending invitations, the record)."""
    can_manage = view.access.can("members.manage")
    labels = dict(Role.choices)
    invitations = list(Invitation.objects.filter(agency=view.agency, accepted_at__isnull=True,
                                                 revoked_at__isnull=True)) if can_manage else []
    for i in invitations:
        i.role_label = labels.get(i.role, i.role)
    changes = list(MemberChange.objects.filter(agency=view.agency).select_related("actor")[:HISTORY_ROWS])
    for c in changes:
        c.old_label, c.new_label = labels.get(c.old_role, ""), labels.get(c.new_role, "")
    return {"can_manage_members": can_manage, "invite_form": InviteForm() if can_manage else None,
            "invitations": invitations, "member_changes": changes, "role_choices": Role.choices}


def _members_page(agency) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("agency:member_list", kwargs={"agency_slug": agency.slug}))


class InviteView(AgencyScopedView, View):
    required_permission = "members.manage"

    def post(self, request):
        form = InviteForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Enter an email address and a role."))
            return _members_page(self.agency)
        invitation, _raw = invitation_create(agency=self.agency, actor=request.user, email=form.cleaned_data["email"],
                                             role=form.cleaned_data["role"])
        messages.success(request, _("An invitation was sent to %(email)s.") % {"email": invitation.email})
        return _members_page(self.agency)


class InvitationActionView(AgencyScopedView, View):
    required_permission = "members.manage"

    def post(self, request, pk, action):
        invitation = get_object_or_404(Invitation.objects.all(), pk=pk)
        if action == "resend":
            invitation_resend(agency=self.agency, actor=request.user, invitation=invitation)
            messages.success(request, _("The invitation was sent again; the earlier link no longer works."))
        elif action == "revoke":
            invitation_revoke(agency=self.agency, actor=request.user, invitation=invitation)
            messages.success(request, _("The invitation was withdrawn."))
        return _members_page(self.agency)


class MemberRoleView(AgencyScopedView, View):
    required_permission = "members.manage"

    def get(self, request, pk):  # where a refused change comes back to (base class): the members page
        return _members_page(self.agency)

    def post(self, request, pk):
        membership = get_object_or_404(Membership.objects.select_related("user"), pk=pk, agency=self.agency)
        if request.POST.get("remove"):
            member_remove(agency=self.agency, actor=request.user, membership=membership)
            messages.success(request, _("%(email)s was removed from the agency; their API tokens were revoked and "
                                        "they were signed out.") % {"email": membership.user.email})
        else:
            member_role_change(agency=self.agency, actor=request.user, membership=membership,
                               role=request.POST.get("role", ""))
            messages.success(request, _("The role of %(email)s was changed.") % {"email": membership.user.email})
        return _members_page(self.agency)


class AcceptForm(forms.Form):
    full_name = forms.CharField(label=gettext_lazy("Your name"), max_length=150)
    password1 = forms.CharField(label=gettext_lazy("Password"), widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=gettext_lazy("Password again"), widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        if data.get("password1") != data.get("password2"):
            raise ValidationError(_("The two passwords differ."))
        validate_password(data.get("password1") or "", User(email=self.email, full_name=data.get("full_name", "")))
        return data


class InvitationAcceptView(View):
    """GET: what the invitation is for; POST: join (signed in as the invitee) or create the account."""

    template_name = "agency/invitation_accept.html"

    def _context(self, request, invitation, **extra):
        from agency.sso import identity_providers_for

        existing = User.objects.filter(email=invitation.email).exists()
        return {"invitation": invitation, "agency": invitation.agency, "existing": existing,
                "role": dict(Role.choices).get(invitation.role), "signed_in_as_other":
                request.user.is_authenticated and request.user.email != invitation.email,
                "providers": identity_providers_for(invitation.agency), **extra}

    def get(self, request, token):
        invitation = invitation_find(token)
        problem = invitation_problem(invitation)
        if problem:
            return render(request, "agency/invitation_invalid.html", {"problem": problem}, status=410)
        return render(request, self.template_name, self._context(request, invitation, form=AcceptForm(
            email=invitation.email)))

    def post(self, request, token):
        invitation = invitation_find(token)
        problem = invitation_problem(invitation)
        if problem:
            return render(request, "agency/invitation_invalid.html", {"problem": problem}, status=410)
        if request.user.is_authenticated and request.user.email == invitation.email:
            user = request.user
        elif User.objects.filter(email=invitation.email).exists():
            return HttpResponseRedirect(reverse("accounts:login") + "?next=" + request.path)
        else:
            form = AcceptForm(request.POST, email=invitation.email)
            if not form.is_valid():
                return render(request, self.template_name, self._context(request, invitation, form=form), status=400)
            user = User.objects.create_user(email=invitation.email, password=form.cleaned_data["password1"],
                                            full_name=form.cleaned_data["full_name"])
        try:
            invitation_accept(invitation=invitation, user=user)
        except Conflict as exc:
            return render(request, "agency/invitation_invalid.html", {"problem": exc.message}, status=410)
        if not request.user.is_authenticated:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to %(agency)s.") % {"agency": invitation.agency.name})
        return HttpResponseRedirect(reverse("backoffice:dashboard", kwargs={"agency_slug": invitation.agency.slug}))
