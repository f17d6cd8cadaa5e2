"""Foundation figures: the cost of the tenancy choke point."""

import time

from django.test import Client


def run():
    from accounts.models import Membership, User
    from agency.models import Agency

    agency, _ = Agency.objects.get_or_create(slug="bench-mcn", defaults={"name": "Bench"})
    user, _ = User.objects.get_or_create(email="bench@example.cn")
    Membership.objects.get_or_create(user=user, agency=agency, defaults={"role": "owner"})
    client = Client()
    client.force_login(user)
    url = f"/api/v1/agencies/{agency.slug}/members/"
    client.get(url)
    n = 200
    start = time.perf_counter()
    for _ in range(n):
        client.get(url)
    elapsed = time.perf_counter() - start
    return [("scoped_api_request_ms", elapsed / n * 1000, "ms")]
