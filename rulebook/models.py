"""The working-day calendar table (R3.1): official holidays and 调休 make-up days, per year.

Provenance is kept per year and per day:
- a `CalendarYear` row exists only for a year whose *complete* official data is loaded
  (the chinesecalendar package's year, or the State Council notice imported whole);
  a year without a row is estimated (weekends + statutory holidays by rule);
- a `CalendarDay` row is either part of a year's official data (source package/notice) or
  a platform operator's single-day *override* (source admin) that sits on top of the
  estimate or of the official data, and survives a later sync or import of the year.
- `CalendarVersion` is one row whose token changes in the same transaction as any
  calendar change: every process (web, worker) compares it before use and reloads.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


# The calendar is global: one country, one calendar.
class CalendarYear(models.Model):
    """A year for which the calendar holds complete official data (package or State Council notice).

    Years without a row are estimated (weekends + statutory holidays by rule) and every
    deadline computed across them is provisional. An operator's single-day edit never
    creates a row here.
    """

    TENANCY_EXEMPT_REASON = "the official Chinese calendar is the same for every agency"

    class Source(models.TextChoices):
        PACKAGE = "chinesecalendar", _("chinesecalendar package")
        NOTICE = "notice", _("State Council notice import")
        ADMIN = "admin", _("Entered by a platform operator")

    # Sources that make a whole year official.
    COMPLETE_SOURCES = (Source.PACKAGE, Source.NOTICE)

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
    """An exception to "Monday–Friday work": an official holiday, or a 调休 make-up working day.

    Source package/notice: part of the year's official data (replaced whole by a sync or an
    import). Source admin: an operator's override of that one day (kept by syncs and imports).
    A date has at most one row of each provenance; the override wins.
    """

    TENANCY_EXEMPT_REASON = "the official Chinese calendar is the same for every agency"

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Official holiday (day off)")
        WORKDAY = "workday", _("Make-up working day (调休)")

    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=100, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=CalendarYear.Source.choices,
                              default=CalendarYear.Source.PACKAGE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date", "source"]
        constraints = [
            models.UniqueConstraint(fields=["date"], condition=models.Q(source="admin"),
                                    name="calendarday_one_override_per_date"),
            models.UniqueConstraint(fields=["date"], condition=~models.Q(source="admin"),
                                    name="calendarday_one_official_per_date"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"

    @property
    def is_working(self) -> bool:
        return self.kind == self.Kind.WORKDAY

    @property
    def is_override(self) -> bool:
        return self.source == CalendarYear.Source.ADMIN


class CalendarVersion(models.Model):
    """One row: the calendar's version token, changed in the transaction of every calendar change.

    Each process keeps the calendar in memory and compares this token (one indexed read)
    before it uses the calendar, so a change is seen at once by every process, with or
    without Redis."""

    TENANCY_EXEMPT_REASON = "the official Chinese calendar is the same for every agency"

    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar version")
        verbose_name_plural = _("calendar versions")

    def __str__(self) -> str:
        return self.token
