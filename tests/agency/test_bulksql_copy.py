"""agency.bulksql's bulk INSERT (COPY text formatted per column on PostgreSQL, executemany on
SQLite) stores exactly what the ORM would: awkward text, TextChoices members, Decimals given as
ints, dates, aware datetimes, JSON with escapes, NULLs, whole columns and mixed ones."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from agency.bulksql import insert_arrays, insert_rows, insert_values, is_postgresql, rows_by_keys
from agency.models import AccountKind, SubAccount, SubAccountChange, SubAccountTag

AWKWARD = [
    "plain", "tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "vertical\vtab", "form\ffeed",
    "back\bspace", "全角　空格", "zero\u200bwidth", "emoji 🎉", "", "quote ' \" done", "line\u2028sep",
]


@pytest.fixture
def agency(world_a):
    with world_a.scope():
        yield world_a.agency


def _stored(agency, ids):
    return {a.platform_account_id: a for a in SubAccount.objects.filter(agency=agency, platform_account_id__in=ids)}


def test_insert_rows_stores_what_it_was_given(agency):
    now = timezone.now()
    accounts = []
    for i, text in enumerate(AWKWARD):
        account = SubAccount(agency=agency, platform="douyin", platform_account_id=f"copy_{i}", display_name=text,
                             notes=text, owner_name=text, tags=[text, "x"] if i % 2 else [],
                             unwithdrawn_earnings=Decimal("12.50") if i % 3 else Decimal("0.00"),
                             mcn_contract_end=dt.date(2027, 6, 30) if i % 2 else None,
                             kind=AccountKind.ENTERPRISE if i % 2 else "personal", followers=i * 1000,
                             live_streaming=bool(i % 2))
        accounts.append(account)
    with transaction.atomic():
        insert_rows(SubAccount, accounts)
    stored = _stored(agency, [a.platform_account_id for a in accounts])
    assert len(stored) == len(AWKWARD)
    for i, text in enumerate(AWKWARD):
        a = stored[f"copy_{i}"]
        assert (a.display_name, a.notes, a.owner_name) == (text, text, text)
        assert a.tags == ([text, "x"] if i % 2 else [])
        assert a.unwithdrawn_earnings == (Decimal("12.50") if i % 3 else Decimal("0"))
        assert a.pending_ad_revenue == Decimal("0")  # the model's default of 0 (an int) for a DecimalField
        assert a.mcn_contract_end == (dt.date(2027, 6, 30) if i % 2 else None)
        assert a.kind == ("enterprise" if i % 2 else "personal")
        assert (a.followers, a.live_streaming, a.parent_id, a.archived_at) == (i * 1000, bool(i % 2), None, None)
        assert a.created_at >= now and a.updated_at >= now  # auto_now_add / auto_now


def test_insert_values_json_and_datetimes(agency, world_a):
    account = SubAccount.objects.create(agency=agency, platform="weibo", platform_account_id="h", display_name="h")
    when = dt.datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC)
    changes = [{"display_name": [None, text], "tags": [None, [text]], "n": [1, 2.5]} for text in AWKWARD]
    with transaction.atomic():
        insert_values(SubAccountChange, ["agency_id", "subaccount_id", "actor_id", "action", "changes", "created_at"],
                      [(agency.pk, account.pk, world_a.user().pk if i % 2 else None,
                        SubAccountChange.Action.IMPORTED if i % 2 else "edited", c, when) for i, c in enumerate(changes)])
    rows = list(SubAccountChange.objects.filter(subaccount=account).order_by("id"))
    assert [r.changes for r in rows] == changes
    assert {r.created_at for r in rows} == {when}
    assert [r.action for r in rows] == ["imported" if i % 2 else "edited" for i in range(len(AWKWARD))]
    assert [r.actor_id for r in rows] == [world_a.user().pk if i % 2 else None for i in range(len(AWKWARD))]
    assert {r.import_batch_id for r in rows} == {None}


def test_rows_by_keys_matches_pairs_only(agency, world_b):
    SubAccount.objects.create(agency=agency, platform="weibo", platform_account_id="k1", display_name="a")
    SubAccount.objects.create(agency=agency, platform="douyin", platform_account_id="k2", display_name="b")
    found = rows_by_keys(SubAccount, agency_id=agency.pk, names=["platform", "platform_account_id"],
                         keys={("weibo", "k1"), ("weibo", "k2"), ("douyin", "\\N"), ("抖音", "k1")})
    assert [(p, k) for _pk, p, k in found] == [("weibo", "k1")]
    assert rows_by_keys(SubAccount, agency_id=world_b.agency.pk, names=["platform", "platform_account_id"],
                        keys={("weibo", "k1")}) == []


def test_insert_arrays_ignores_conflicts_and_refuses_long_text(agency):
    if not is_postgresql():
        pytest.skip("INSERT … SELECT FROM unnest(arrays) is PostgreSQL's")
    account = SubAccount.objects.create(agency=agency, platform="weibo", platform_account_id="t", display_name="t")
    SubAccountTag.objects.filter(subaccount=account).delete()
    rows = [(agency.pk, account.pk, name) for name in ["a", "b\tc", "全角"]]
    assert insert_arrays(SubAccountTag, ["agency_id", "subaccount_id", "name"], rows, ignore_conflicts=True) == 3
    assert insert_arrays(SubAccountTag, ["agency_id", "subaccount_id", "name"], rows, ignore_conflicts=True) == 0
    assert sorted(SubAccountTag.objects.filter(subaccount=account).values_list("name", flat=True)) == sorted(
        ["a", "b\tc", "全角"])
    from django.db import DataError

    with pytest.raises(DataError), transaction.atomic():
        insert_arrays(SubAccountTag, ["agency_id", "subaccount_id", "name"], [(agency.pk, account.pk, "x" * 51)])
