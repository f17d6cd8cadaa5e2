"""Sub-account spreadsheet import: preview (dry run) and apply of a 10,000-row file, then
re-import of the same file with changes (updates), and the filtered list API."""

import csv
import io
import time

from django.test import Client

ROWS = 10_000


def _file(rows: int, *, followers_offset: int = 0) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["平台", "平台账号ID", "账号名称", "账号类型", "粉丝数", "手机号", "邮箱", "未提现收益（元）",
                     "MCN合约到期日", "标签", "直播权限", "高舆情风险"])
    platforms = ["抖音", "快手", "微博", "微信", "B站", "小红书"]
    for i in range(rows):
        writer.writerow([
            platforms[i % 6], f"bench_{i:06d}", f"测试账号{i}", "个人号" if i % 5 else "企业号",
            f"{(i * 37 + followers_offset) % 2_000_000:,}", f"138{i:08d}", f"owner{i}@bench.example.cn",
            f"{(i % 997) * 3.5:,.2f}", "2027/06/30", "重点; 直播" if i % 3 == 0 else "", "是" if i % 4 == 0 else "否",
            "否",
        ])
    return buffer.getvalue().encode("gb18030")


def run():
    from django_scopes import scope

    from accounts.models import Membership, User
    from agency.models import SubAccount
    from agency.services.imports import subaccount_import
    from bench.world import bench_agency

    agency = bench_agency("bench-import", "Bench import")
    user, _ = User.objects.get_or_create(email="bench-import@example.cn")
    Membership.objects.get_or_create(user=user, agency=agency, defaults={"role": "owner"})
    content = _file(ROWS)
    results = []
    with scope(agency=agency):
        start = time.perf_counter()
        answer = subaccount_import(agency=agency, actor=user, content=content, filename="bench.csv", dry_run=True)
        results.append(("import_10k_rows_preview_s", time.perf_counter() - start, "s"))
        assert answer["created"] == ROWS and not answer["errors"], answer["errors"][:3]

        start = time.perf_counter()
        answer = subaccount_import(agency=agency, actor=user, content=content, filename="bench.csv", dry_run=False)
        results.append(("import_10k_rows_s", time.perf_counter() - start, "s"))
        assert answer["created"] == ROWS and SubAccount.objects.count() == ROWS

        changed = _file(ROWS, followers_offset=1)
        start = time.perf_counter()
        answer = subaccount_import(agency=agency, actor=user, content=changed, filename="bench2.csv", dry_run=False)
        results.append(("reimport_10k_rows_updates_s", time.perf_counter() - start, "s"))
        assert answer["updated"] == ROWS, answer

    client = Client()
    client.force_login(user)
    url = f"/api/v1/agencies/{agency.slug}/sub-accounts/?page_size=100&tag=重点&ordering=-followers"
    client.get(url)
    n = 20
    start = time.perf_counter()
    for _ in range(n):
        assert client.get(url).status_code == 200
    results.append(("subaccount_list_api_10k_ms", (time.perf_counter() - start) / n * 1000, "ms"))
    start = time.perf_counter()
    response = client.get(f"/api/v1/agencies/{agency.slug}/sub-accounts/export.xlsx")
    if response.status_code == 202:  # above EXPORT_JOB_THRESHOLD_ROWS: a job (run at once here), then its file
        job = response.json()["job"]
        while job["state"] not in ("succeeded", "failed", "cancelled"):
            time.sleep(0.05)
            job = client.get(job["url"]).json()
        assert job["state"] == "succeeded", job
        response = client.get(job["download_url"])
        b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200, response.status_code
    results.append(("export_10k_rows_xlsx_s", time.perf_counter() - start, "s"))
    return results + _list_ratio()


def _list_ratio(accounts: int = 20_000, rounds: int = 30):
    """The scoped API against a bare DRF ListAPIView + ModelSerializer over the same table and the
    same page (bench/bare_urls.py), timed in the same run, interleaved; ratio = bare / scoped."""
    import random

    from django.db import transaction
    from django.test.utils import override_settings

    from accounts.models import Membership, User
    from agency.bulksql import insert_values
    from agency.models import SubAccount
    from bench.world import bench_agency

    agency = bench_agency("bench-list", "Bench list")
    user, _ = User.objects.get_or_create(email="bench-list@example.cn")
    Membership.objects.get_or_create(user=user, agency=agency, defaults={"role": "owner"})
    rng = random.Random(16)
    platforms = ["weibo", "douyin", "kuaishou", "wechat", "bilibili", "xiaohongshu"]
    with transaction.atomic():
        insert_values(SubAccount, ["agency_id", "platform", "platform_account_id", "display_name", "followers"],
                      [(agency.pk, platforms[i % 6], f"list_{i}", f"账号{i}", rng.randint(0, 2_000_000))
                       for i in range(accounts)])
    client = Client()
    client.force_login(user)
    scoped = f"/api/v1/agencies/{agency.slug}/sub-accounts/?page_size=50&platform=douyin&ordering=-followers"
    bare = f"/bench/bare-sub-accounts/?page_size=50&platform=douyin&agency_id={agency.pk}"
    times = {scoped: [], bare: []}
    with override_settings(ROOT_URLCONF="bench.bare_urls"):
        for url in times:
            response = client.get(url)
            assert response.status_code == 200 and response.json()["count"] == len(range(1, accounts, 6))
        for k in range(rounds):
            for url in (scoped, bare) if k % 2 == 0 else (bare, scoped):
                start = time.perf_counter()
                client.get(url)
                times[url].append(time.perf_counter() - start)
    scoped_ms = sorted(times[scoped])[rounds // 2] * 1000
    bare_ms = sorted(times[bare])[rounds // 2] * 1000
    return [("subaccount_list_api_20k_ms", scoped_ms, "ms"), ("bare_drf_list_20k_ms", bare_ms, "ms"),
            ("subaccount_list_api_ratio", bare_ms / scoped_ms, "x")]
