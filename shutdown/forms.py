from django import forms
from django.utils.translation import gettext_lazy as _

from shutdown import rules
from shutdown.models import DocumentKind, Strategy


class TaskCreateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    strategy = forms.ChoiceField(label=_("Strategy"), choices=Strategy.choices, initial=Strategy.SHUTDOWN,
                                 help_text=_("A full shutdown, or one of the R5 alternatives."))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    matrix_target = forms.CharField(
        label=_("Matrix target account"), required=False, max_length=200,
        help_text=_("Only for matrix reorganisation: the account the content moves to, as platform name, a colon "
                    "and its account id, e.g. 抖音:dy_10001 (R5.3)."))
    tier_rule = forms.ChoiceField(label=_("Split into tiers by"), required=False,
                                  choices=[("", _("One tier (split later)")), *rules.SPLIT_RULES.items()])
    batch_size = forms.IntegerField(label=_("Batch size"), required=False, min_value=1)
    leave_out_busy = forms.BooleanField(
        label=_("Leave out the accounts already in a running task and continue"), required=False)


class TaskEditForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), required=False)


class DocumentForm(forms.Form):
    # Evidence that comes with a confirmation (R1.3 unbinding, R9.1 preparation) is uploaded there.
    kind = forms.ChoiceField(label=_("Document type"), choices=[
        (value, label) for value, label in DocumentKind.choices
        if value not in (DocumentKind.UNBINDING_EVIDENCE, DocumentKind.PREPARATION_EVIDENCE)])
    item = forms.IntegerField(label=_("Item"), required=False, widget=forms.HiddenInput)
    file = forms.FileField(label=_("File (PDF, JPEG or PNG)"))
