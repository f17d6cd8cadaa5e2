"""The working-day calendar table (R3.1): official holidays and 调休 make-up days, per year."""

from django.db import models
from django.utils.translation import gettext_lazy as _


# The calendar is global: one country, one calendar.
class CalendarYear(models.Model):
    """A year for which the calendar holds official data (State Council notice).

    Years without a row are estimated (weekends + statutory holidays by rule) and every
    deadline computed across them is provisional.
    """

    TENANCY_EXEMPT_REASON = "the official Chinese calendar is the same for every agency"

    class Source(models.TextChoices):
        PACKAGE = "chinesecalendar", _("chinesecalendar package")
        NOTICE = "notice", _("State Council notice import")
        ADMIN = "admin", _("Entered by a platform operator")

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.PACKAGE)
    note = models.CharField(_("note"), max_length=300, blank=True)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now=True)

    class Meta:
        verbose_name = _("official calendar year")
        verbose_name_plural = _("official calendar years")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    """An exception to "Monday–Friday work": an official holiday, or a 调休 make-up working day."""

    TENANCY_EXEMPT_REASON = "the official Chinese calendar is the same for every agency"

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Official holiday (day off)")
        WORKDAY = "workday", _("Make-up working day (调休)")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=CalendarYear.Source.choices,
                              default=CalendarYear.Source.PACKAGE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"

    @property
    def is_working(self) -> bool:
        return self.kind == self.Kind.WORKDAY
