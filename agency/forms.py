"""Back-office forms of the sub-account registry (the services validate again)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .fields import FieldError, parent_ref
from .models import OwnerRelation, Platform, SubAccount
from .privacy import CONTACT_FIELDS, mask_contact
from .services.subaccounts import EDITABLE_FIELDS
from .services.tags import tags_normalise


class SubAccountForm(forms.ModelForm):
    parent = forms.CharField(
        label=_("Main account"), required=False,
        help_text=_("For a matrix account: the main account as platform name, a colon and its account id, "
                    "e.g. 抖音:dy_10001."),
    )
    tags = forms.CharField(label=_("Tags"), required=False, help_text=_("Separate tags with commas."))

    class Meta:
        model = SubAccount
        fields = [f for f in EDITABLE_FIELDS]
        widgets = {
            "notes": forms.Textarea(attrs={"rows": 3}),
            "mcn_contract_end": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, agency, may_see_contacts: bool = True, **kwargs):
        self.agency = agency
        super().__init__(*args, **kwargs)
        if self.instance.pk and not may_see_contacts:
            # PIPL: shown masked; sent back unchanged, the stored value is kept (the service's rule).
            for name in CONTACT_FIELDS:
                self.initial[name] = mask_contact(name, getattr(self.instance, name))
                self.fields[name].help_text = _("Masked: your role may not see it. Leave it as shown to keep it, "
                                                "or type a new value.")
        for field in self.fields.values():  # Django's “- Select an option -” has no zh-hans words
            choices = list(getattr(field, "choices", []) or [])
            if isinstance(field, forms.ChoiceField) and choices and choices[0][0] == "":
                field.choices = [("", _("Choose…")), *choices[1:]]
        instance = self.instance
        if instance.pk:
            if instance.parent_id:
                self.initial["parent"] = (f"{instance.parent.get_platform_display()}:"
                                          f"{instance.parent.platform_account_id}")
            self.initial["tags"] = ", ".join(instance.tags or [])

    def clean_parent(self):
        value = (self.cleaned_data.get("parent") or "").strip()
        if not value:
            return None
        try:
            platform, account_id = parent_ref(value)
        except FieldError as exc:
            raise forms.ValidationError(str(exc)) from exc
        platform = platform or self.cleaned_data.get("platform") or self.instance.platform
        parent = SubAccount.objects.filter(agency=self.agency, platform=platform,
                                           platform_account_id=account_id).first()
        if parent is None:
            raise forms.ValidationError(_("No account %(ref)s in this agency.")
                                        % {"ref": f"{Platform(platform).label if platform in Platform.values else platform}"
                                                  f":{account_id}"})
        return parent

    def clean_tags(self):
        return tags_normalise(self.cleaned_data.get("tags") or "")

    def _post_clean(self):
        # The model is validated by the service (one place for the rules), not by the form.
        pass


class BulkTagForm(forms.Form):
    add_tags = forms.CharField(label=_("Add tags"), required=False)
    remove_tags = forms.CharField(label=_("Remove tags"), required=False)


class BulkOwnerForm(forms.Form):
    owner_name = forms.CharField(label=_("Account holder name"), required=False)
    owner_mobile = forms.CharField(label=_("Account holder mobile"), required=False)
    owner_email = forms.EmailField(label=_("Account holder email"), required=False)
    owner_relation = forms.ChoiceField(label=_("Account holder relation"), required=False,
                                       choices=[("", "—"), *OwnerRelation.choices])


# The list page's selection form posts the list's filter (hidden inputs) next to these fields,
# which are not filters: whoever reads a filter from that form leaves them out.
SELECTION_FORM_FIELDS = ("csrfmiddlewaretoken", "return_qs", "action", "format", "header", "form", "encoding",
                         *BulkTagForm.base_fields, *BulkOwnerForm.base_fields)


class ImportUploadForm(forms.Form):
    file = forms.FileField(label=_("Spreadsheet (CSV or XLSX)"))
