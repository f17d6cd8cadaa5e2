from django import forms
from django.contrib import admin
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, User
from accounts.roles import Role

from .models import Agency, IdentityProvider, SubAccount


class AgencyCreationForm(forms.ModelForm):
    owner_email = forms.EmailField(label=_("First owner's email"), required=False,
                                   help_text=_("Created if it does not exist; becomes the agency's owner."))
    owner_password = forms.CharField(label=_("First owner's password"), required=False, widget=forms.PasswordInput,
                                     help_text=_("Only for a new user. Leave empty to let them reset it by email."))

    class Meta:
        model = Agency
        fields = ["slug", "name", "time_zone", "is_active", "settings"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    form = AgencyCreationForm
    list_display = ["slug", "name", "time_zone", "is_active", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        email = form.cleaned_data.get("owner_email")
        if email:
            user = User.objects.filter(email=email.lower()).first()
            if user is None:
                user = User.objects.create_user(email=email, password=form.cleaned_data.get("owner_password") or None)
            Membership.objects.update_or_create(user=user, agency=obj, defaults={"role": Role.OWNER})


@admin.register(SubAccount)
class SubAccountAdmin(admin.ModelAdmin):
    list_display = ["display_name", "agency", "platform", "kind", "status", "followers"]
    list_filter = ["agency", "platform", "kind", "status"]
    search_fields = ["display_name", "platform_account_id"]
    raw_id_fields = ["parent"]


@admin.register(IdentityProvider)
class IdentityProviderAdmin(admin.ModelAdmin):
    """Read-mostly: agency admins link providers on their security page (the secret is set there,
    sealed, and never shown, here neither)."""

    list_display = ["display_name", "agency", "kind", "client_id", "email_domains", "is_active"]
    list_filter = ["kind", "is_active"]
    exclude = ["client_secret_sealed"]
    readonly_fields = ["agency", "kind", "issuer", "client_id", "corp_id", "created_at"]
