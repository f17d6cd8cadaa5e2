"""Read replica (DATABASE_REPLICA_URL): the sub-account list and the exports read from the `replica`
alias; writes, transactions and a user's reads right after their own writes stay on the primary.
Without the setting there is no alias and every query is on `default`.

The replica here is what settings build from DATABASE_REPLICA_URL in tests: a second alias to the
same test database (`TEST: {"MIRROR": "default"}`), reached through its own connection. A second
connection only sees committed rows, hence transactional tests."""

import copy
import os

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from agency.db import REPLICA, WriteTracker, _request_writes, read_db, read_replica
from agency.models import Job, SubAccount
from agency.services import jobs as job_services
from config.settings import replica_database

from ..factories import SubAccountFactory

TABLE = '"agency_subaccount"'
# Run with DATABASE_REPLICA_URL set (e.g. to the primary's URL), settings add the alias themselves.
FROM_ENVIRONMENT = bool(os.environ.get("DATABASE_REPLICA_URL"))
transactional = pytest.mark.django_db(
    transaction=True, databases=["default", REPLICA] if FROM_ENVIRONMENT else ["default"]
)


# The fixture below gives settings a new DATABASES (with the alias), which Django warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


@pytest.fixture
def replica(settings):
    """The `replica` alias as settings add it (a mirror of the test database) and the router.

    Added to settings and connected directly, not through the test database setup: the rest of
    the suite runs without a replica."""
    if FROM_ENVIRONMENT:
        yield connections[REPLICA]
        return
    conf = copy.deepcopy(connections["default"].settings_dict)
    conf["TEST"] = {**conf.get("TEST", {}), "MIRROR": "default"}
    settings.DATABASES = {**settings.DATABASES, REPLICA: conf}
    settings.DATABASE_ROUTERS = ["agency.db.PrimaryReplicaRouter"]
    connections[REPLICA] = connections["default"].__class__(conf, alias=REPLICA)
    yield connections[REPLICA]
    connections[REPLICA].close()
    del connections[REPLICA]


class Capture:
    """The SQL each alias ran during the block."""

    def __enter__(self):
        self.primary = CaptureQueriesContext(connections["default"]).__enter__()
        self.replica = CaptureQueriesContext(connections[REPLICA]).__enter__()
        return self

    def __exit__(self, *exc):
        self.replica.__exit__(*exc)
        self.primary.__exit__(*exc)

    @staticmethod
    def _reads(captured):
        return [
            q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT") and TABLE in q["sql"]
        ]

    @staticmethod
    def _writes(captured):
        return [
            q["sql"] for q in captured.captured_queries if q["sql"].split(" ", 1)[0] in {"INSERT", "UPDATE"}
        ]

    @property
    def replica_reads(self):
        return self._reads(self.replica)

    @property
    def primary_reads(self):
        return self._reads(self.primary)


def api(world, suffix=""):
    return f"/api/v1/agencies/{world.agency.slug}/sub-accounts/{suffix}"


def page(world, suffix=""):
    return f"/a/{world.agency.slug}/sub-accounts/{suffix}"


def test_settings_parse_the_replica_like_the_primary_and_mirror_it_in_tests():
    conf = replica_database("postgres://reader:secret@replica.internal:5433/mcn")
    assert conf["ENGINE"] == "django.db.backends.postgresql"
    assert (conf["HOST"], conf["PORT"], conf["NAME"], conf["USER"]) == (
        "replica.internal",
        5433,
        "mcn",
        "reader",
    )
    assert conf["TEST"] == {"MIRROR": "default"}


@transactional
def test_the_list_api_and_the_export_read_from_the_replica(world_a, world_b, replica):
    mine = [SubAccountFactory(agency=world_a.agency, platform_account_id=f"mine_{i}") for i in range(3)]
    SubAccountFactory(agency=world_b.agency, platform_account_id="theirs")
    client = world_a.client("auditor")

    with Capture() as db:
        response = client.get(api(world_a))
    assert response.status_code == 200
    assert sorted(r["platform_account_id"] for r in response.json()["results"]) == sorted(
        a.platform_account_id for a in mine
    )  # the agency's own accounts only, replica or not
    assert db.replica_reads and not db.primary_reads

    with Capture() as db:
        response = client.get(api(world_a, "export.csv"))
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"mine_0" in body and b"theirs" not in body
    assert db.replica_reads and not db.primary_reads

    # A single account (not a list) stays on the primary.
    with Capture() as db:
        assert client.get(api(world_a, f"{mine[0].pk}/")).status_code == 200
    assert db.primary_reads and not db.replica_reads


@transactional
def test_the_back_office_list_and_export_read_from_the_replica(world_a, replica):
    SubAccountFactory(agency=world_a.agency, display_name="副本里的号")
    client = world_a.client("auditor")
    with Capture() as db:
        response = client.get(page(world_a))
    assert response.status_code == 200 and "副本里的号" in response.content.decode()
    assert db.replica_reads and not db.primary_reads
    with Capture() as db:
        response = client.get(page(world_a, "export/?format=csv"))
    assert response.status_code == 200
    assert db.replica_reads and not db.primary_reads


@transactional
def test_writes_go_to_the_primary_and_the_writer_reads_them_back_from_it(world_a, replica):
    writer, other = world_a.client("admin"), world_a.client("auditor")
    with Capture() as db:
        response = writer.post(
            api(world_a),
            {"platform": "weibo", "platform_account_id": "wb_new", "display_name": "新号"},
            format="json",
        )
    assert response.status_code == 201
    assert any(TABLE in sql for sql in db._writes(db.primary))
    assert not db._writes(db.replica) and not db.replica_reads

    # Right after their write, the writer's list comes from the primary (a lagging replica could
    # miss the account they just created)…
    with Capture() as db:
        listed = writer.get(api(world_a)).json()["results"]
    assert [r["platform_account_id"] for r in listed] == ["wb_new"]
    assert db.primary_reads and not db.replica_reads
    # …while another member's list reads from the replica.
    with Capture() as db:
        assert other.get(api(world_a)).status_code == 200
    assert db.replica_reads and not db.primary_reads


@transactional
def test_the_writers_pin_expires(world_a, replica, settings):
    settings.REPLICA_PIN_SECONDS = 10
    writer = world_a.client("admin")
    writer.post(
        api(world_a),
        {"platform": "weibo", "platform_account_id": "wb_pin", "display_name": "号"},
        format="json",
    )
    assert read_db(user=world_a.user("admin")) == "default"
    from django.core.cache import cache

    cache.delete(f"db:primary-pin:{world_a.user('admin').pk}")  # as after REPLICA_PIN_SECONDS
    assert read_db(user=world_a.user("admin")) == REPLICA


@transactional
def test_a_transaction_and_a_request_that_wrote_read_from_the_primary(world_a, replica):
    account = SubAccountFactory(agency=world_a.agency)
    assert read_db() == REPLICA
    with transaction.atomic():
        assert read_db() == "default"
    tracker = WriteTracker()
    token = _request_writes.set(tracker)
    try:
        with connections["default"].execute_wrapper(tracker):
            assert read_db() == REPLICA  # nothing written yet in this request
            with scopes_disabled():
                SubAccount.objects.filter(pk=account.pk).update(display_name="改过")
            assert read_db() == "default"
            with scopes_disabled():
                assert read_replica(SubAccount.objects.filter(pk=account.pk)).get().display_name == "改过"
    finally:
        _request_writes.reset(token)


@transactional
def test_a_row_read_from_the_replica_is_saved_to_the_primary(world_a, replica):
    account = SubAccountFactory(agency=world_a.agency, display_name="旧名")
    with scopes_disabled():
        loaded = SubAccount.objects.using(REPLICA).get(pk=account.pk)
    loaded.display_name = "新名"
    with Capture() as db:
        loaded.save(update_fields=["display_name"])
    assert db._writes(db.primary) and not db._writes(db.replica)


@transactional
def test_the_export_job_reads_from_the_replica(world_a, replica, settings, monkeypatch):
    settings.EXPORT_JOB_THRESHOLD_ROWS = 2
    monkeypatch.setattr(job_services, "task_publish", lambda *a, **k: None)  # the worker is called below
    for i in range(3):
        SubAccountFactory(agency=world_a.agency, platform_account_id=f"job_{i}")
    response = world_a.client("owner").get(api(world_a, "export.csv"))
    assert response.status_code == 202
    with scopes_disabled():
        job = Job.objects.get(agency=world_a.agency, kind=Job.Kind.EXPORT)
    with Capture() as db:
        assert job_services.job_run(agency=world_a.agency, job_id=job.pk) == Job.State.SUCCEEDED
    assert db.replica_reads and not db.primary_reads
    assert db._writes(db.primary) and not db._writes(db.replica)  # the job's own row: primary


@pytest.mark.skipif(FROM_ENVIRONMENT, reason="DATABASE_REPLICA_URL is set")
@transactional
def test_without_a_replica_everything_stays_on_default(world_a, settings):
    assert REPLICA not in connections.settings and REPLICA not in settings.DATABASES
    SubAccountFactory(agency=world_a.agency)
    assert read_db() == "default"
    with CaptureQueriesContext(connections["default"]) as primary:
        assert world_a.client("auditor").get(api(world_a)).status_code == 200
    assert [q for q in primary.captured_queries if TABLE in q["sql"]]
    with scopes_disabled():
        assert read_replica(SubAccount.objects.all()).db == "default"
