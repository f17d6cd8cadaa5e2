"""`field__in_ids=ids` (agency.bulksql.InIds): a list of ids as one parameter. On PostgreSQL a
condition on each row (`= ANY(array)`), never a join the planner may turn into a loop over the
whole list for every row when its statistics lag behind a bulk write (creating a task over
10,000 just-created accounts spent 2.4 s in that one query)."""

import pytest
from django.db import connection
from django_scopes import scope

from agency.models import SubAccount, SubAccountTag
from shutdown.models import TaskItem

pytestmark = pytest.mark.django_db


def _accounts(world, n, prefix="acc"):
    with scope(agency=world.agency):
        SubAccount.objects.bulk_create([
            SubAccount(agency=world.agency, platform="douyin", platform_account_id=f"{prefix}{i}",
                       display_name=f"账号{i}") for i in range(n)])
        return list(SubAccount.objects.filter(platform_account_id__startswith=prefix)
                    .order_by("pk").values_list("pk", flat=True))


def test_the_rows_of_exactly_the_ids_given_and_only_this_agencys(world_a, world_b):
    ours = _accounts(world_a, 5)
    theirs = _accounts(world_b, 2, prefix="b")
    with scope(agency=world_a.agency):
        picked = SubAccount.objects.filter(pk__in_ids=[ours[0], str(ours[3]), theirs[0]]).values_list("pk", flat=True)
        assert sorted(picked) == [ours[0], ours[3]]  # the other agency's id finds nothing here
        assert list(SubAccount.objects.filter(pk__in_ids=iter(ours[1:3])).order_by("pk")
                    .values_list("pk", flat=True)) == ours[1:3]  # a generator, read once
        assert not SubAccount.objects.filter(pk__in_ids=[]).exists()
        assert SubAccount.objects.exclude(pk__in_ids=ours[:4]).values_list("pk", flat=True).get() == ours[4]


def test_on_a_foreign_key_as_well(world_a):
    ids = _accounts(world_a, 3)
    with scope(agency=world_a.agency):
        SubAccountTag.objects.bulk_create([SubAccountTag(agency=world_a.agency, subaccount_id=pk, name="美食")
                                           for pk in ids])
        assert SubAccountTag.objects.filter(subaccount_id__in_ids=ids[:2]).count() == 2
        assert TaskItem.objects.filter(sub_account_id__in_ids=ids).count() == 0


def test_anything_but_a_number_is_refused_before_any_sql(world_a):
    with scope(agency=world_a.agency), pytest.raises(ValueError):
        SubAccount.objects.filter(pk__in_ids=["1) OR (1=1"])


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner")
def test_with_statistics_behind_a_bulk_write_the_ids_are_a_filter_not_a_join(world_a):
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE agency_subaccount")  # statistics from before the accounts below
    ids = _accounts(world_a, 3000)
    with scope(agency=world_a.agency):
        plan = SubAccount.objects.filter(agency=world_a.agency, pk__in_ids=ids).explain()
        assert "Join" not in plan and "Nested Loop" not in plan, plan
        assert SubAccount.objects.filter(agency=world_a.agency, pk__in_ids=ids).count() == 3000
