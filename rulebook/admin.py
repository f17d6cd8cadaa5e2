"""The platform operator's calendar tools: edit days, import the State Council notice."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from agency.exceptions import DomainError
from rulebook.calendar import calendar_after_change, calendar_day_set, calendar_import_notice
from rulebook.models import CalendarDay, CalendarYear


class NoticeImportForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    text = forms.CharField(label=_("Notice text"), widget=forms.Textarea(attrs={"rows": 18, "cols": 100}),
                           help_text=_("Paste the State Council notice (国务院办公厅关于…部分节假日安排的通知), or lines "
                                       "like “2027-10-01..2027-10-07 holiday 国庆节” / “2027-09-26 workday 国庆节”."))


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ("year", "source", "note", "loaded_at")
    readonly_fields = ("loaded_at",)
    change_list_template = "rulebook/admin_calendar_year_changelist.html"

    def get_urls(self):
        return [path("import-notice/", self.admin_site.admin_view(self.import_notice), name="deadlines_import_notice"),
                *super().get_urls()]

    def import_notice(self, request):
        form = NoticeImportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                entry = calendar_import_notice(text=form.cleaned_data["text"], year=form.cleaned_data["year"])
            except DomainError as exc:
                form.add_error("text", str(exc.message))
            else:
                messages.success(request, _("Calendar %(y)s imported; provisional deadlines are being recounted.")
                                 % {"y": entry.year})
                return redirect("admin:rulebook_calendaryear_changelist")
        context = {**self.admin_site.each_context(request), "form": form, "title": _("Import the State Council notice"),
                   "opts": self.model._meta}
        return TemplateResponse(request, "rulebook/admin_import_notice.html", context)

    def delete_model(self, request, obj):
        with transaction.atomic():
            CalendarDay.objects.filter(date__year=obj.year).delete()
            obj.delete()
            calendar_after_change(years={obj.year})


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "name", "source", "updated_at")
    list_filter = ("kind", "source")
    date_hierarchy = "date"
    search_fields = ("name",)
    fields = ("date", "kind", "name")

    def save_model(self, request, obj, form, change):
        if change and "date" in form.changed_data:
            CalendarDay.objects.filter(pk=obj.pk).delete()
        saved = calendar_day_set(day=obj.date, kind=obj.kind, name=obj.name)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        with transaction.atomic():
            obj.delete()
            calendar_after_change(years={obj.date.year})
