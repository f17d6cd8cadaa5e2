"""The benchmarks' agencies: their own sign-in policy asks no second factor of any role (as the
test factories' agencies do), so the measured requests are answered, not refused with 403."""

NO_SECOND_FACTOR = {"mfa_required_roles": []}


def bench_agency(slug: str, name: str | None = None):
    from agency.models import Agency

    agency, _ = Agency.objects.get_or_create(
        slug=slug, defaults={"name": name or slug, "settings": NO_SECOND_FACTOR}
    )
    if (agency.settings or {}).get("mfa_required_roles") != []:  # kept from a run before this policy
        agency.settings = {**(agency.settings or {}), **NO_SECOND_FACTOR}
        agency.save(update_fields=["settings"])
    return agency
