from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import Role, role_has
from shutdown.models import Strategy

from .models import LevelMode


class PolicyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    strategy = forms.ChoiceField(label=_("Strategy"), required=False,
                                 choices=[("", _("Default (every strategy)"))] + list(Strategy.choices))
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class LevelForm(forms.Form):
    name = forms.CharField(label=_("Level name"), max_length=120)
    role = forms.ChoiceField(label=_("Role"), required=False,
                             choices=[("", _("No role (named members below)"))] + [(r.value, r.label) for r in Role if role_has(r.value,
                                                                                                 "approvals.decide")])
    members = forms.ModelMultipleChoiceField(label=_("…or named members"), required=False,
                                             queryset=User.objects.none())
    mode = forms.ChoiceField(label=_("Mode"), choices=LevelMode.choices, initial=LevelMode.ANY)
    required_count = forms.IntegerField(label=_("N (for N of M)"), min_value=1, initial=1)
    sla_hours = forms.IntegerField(label=_("SLA (hours)"), min_value=1)

    def __init__(self, *args, agency=None, **kwargs):
        super().__init__(*args, **kwargs)
        if agency is not None:
            self.fields["members"].queryset = User.objects.filter(memberships__agency=agency).order_by("email")


LevelFormSet = formset_factory(LevelForm, extra=1, can_delete=True, max_num=12)


class DelegationForm(forms.Form):
    delegate = forms.ModelChoiceField(label=_("Delegate to"), queryset=User.objects.none(),
                                      empty_label=_("Choose a colleague"))
    starts_at = forms.DateTimeField(label=_("From"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    ends_at = forms.DateTimeField(label=_("Until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300,
                             widget=forms.TextInput(attrs={"placeholder": _("e.g. on leave until the 15th")}))

    def __init__(self, *args, agency=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if agency is not None:
            qs = User.objects.filter(memberships__agency=agency).exclude(pk=getattr(user, "pk", None))
            self.fields["delegate"].queryset = qs.order_by("email")
