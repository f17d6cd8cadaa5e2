"""The platform operator's calendar tools: edit days, import the State Council notice."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from agency.exceptions import DomainError
from rulebook.calendar import (
    calendar_day_clear,
    calendar_day_set,
    calendar_import_notice,
    calendar_year_remove,
)
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
        calendar_year_remove(year=obj.year)

    def delete_queryset(self, request, queryset):
        for year in list(queryset.values_list("year", flat=True)):
            calendar_year_remove(year=year)


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    """Days of the official data (read-only here: a sync or an import replaces them) and the
    operators' overrides (source "Entered by a platform operator"). Saving a day stores an
    override; deleting an override lets the official data or the estimate show through."""

    list_display = ("date", "kind", "name", "source", "updated_at")
    list_filter = ("kind", "source")
    date_hierarchy = "date"
    search_fields = ("name",)
    fields = ("date", "kind", "name")

    def save_model(self, request, obj, form, change):
        if change and "date" in form.changed_data:
            previous = CalendarDay.objects.get(pk=obj.pk)
            if previous.is_override:
                calendar_day_clear(day=previous.date)
        saved = calendar_day_set(day=obj.date, kind=obj.kind, name=obj.name)
        obj.pk, obj.source = saved.pk, saved.source

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not obj.is_override:
            return False  # official data goes with its year (delete the year) or a new import
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        calendar_day_clear(day=obj.date)

    def delete_queryset(self, request, queryset):
        for day in list(queryset.filter(source=CalendarYear.Source.ADMIN).values_list("date", flat=True)):
            calendar_day_clear(day=day)
