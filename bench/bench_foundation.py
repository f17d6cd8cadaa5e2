"""Foundation figures: the cost of the tenancy choke point."""

import time

from django.test import Client


def run():
    from accounts.models import Membership, User
    from bench.world import bench_agency

    agency = bench_agency("bench-mcn", "Bench")
    user, _ = User.objects.get_or_create(email="bench@example.cn")
    Membership.objects.get_or_create(user=user, agency=agency, defaults={"role": "owner"})
    client = Client()
    client.force_login(user)
    url = f"/api/v1/agencies/{agency.slug}/members/"
    assert client.get(url).status_code == 200  # a refused request would time the refusal
    # Persistent connections (CONN_MAX_AGE, the default 60 s) against a new connection per request
    # (0), interleaved in blocks of 20 requests. On SQLite a new connection costs little; on
    # PostgreSQL it is a new server process.
    from django.db import close_old_connections, connection

    default_age = connection.settings_dict["CONN_MAX_AGE"]
    times = {default_age: [], 0: []}
    for block in range(10):
        for age in (default_age, 0) if block % 2 == 0 else (0, default_age):
            connection.close()
            connection.settings_dict["CONN_MAX_AGE"] = age
            start = time.perf_counter()
            for _ in range(20):
                # What the WSGI handler does around a request (the test client skips it).
                close_old_connections()
                client.get(url)
                close_old_connections()
            times[age].append((time.perf_counter() - start) / 20 * 1000)
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = default_age
    persistent = sorted(times[default_age])[5]
    fresh = sorted(times[0])[5]
    return [("scoped_api_request_ms", persistent, "ms"), ("scoped_api_request_conn_max_age_0_ms", fresh, "ms"),
            ("db_conn_max_age_s", default_age, "s")]
