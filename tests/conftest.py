"""Every fixture set has two agencies, so isolation is tested everywhere by habit."""

import os
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django_scopes import scope, scopes_disabled
from rest_framework.test import APIClient

from accounts.roles import Role

from .factories import AgencyFactory, MembershipFactory, SubAccountFactory, UserFactory


@dataclass
class AgencyWorld:
    agency: object
    users: dict = field(default_factory=dict)  # role -> User

    def user(self, role: str = Role.OWNER):
        return self.users[role]

    def client(self, role: str = Role.OWNER) -> APIClient:
        c = APIClient()
        c.force_login(self.users[role])
        return c

    def scope(self):
        return scope(agency=self.agency)


def _make_world(slug: str) -> AgencyWorld:
    agency = AgencyFactory(slug=slug, name=f"机构 {slug}")
    world = AgencyWorld(agency=agency)
    for role in Role:
        user = UserFactory(email=f"{role.value}@{slug}.test")
        MembershipFactory(user=user, agency=agency, role=role)
        world.users[role.value] = user
    return world


@pytest.fixture
def world_a(db) -> AgencyWorld:
    return _make_world("alpha-mcn")


@pytest.fixture
def world_b(db) -> AgencyWorld:
    return _make_world("beta-mcn")


@pytest.fixture
def worlds(world_a, world_b):
    return world_a, world_b


@pytest.fixture
def accounts_a(world_a):
    return [SubAccountFactory(agency=world_a.agency) for _ in range(3)]


@pytest.fixture
def accounts_b(world_b):
    return [SubAccountFactory(agency=world_b.agency) for _ in range(3)]


@pytest.fixture
def no_scope():
    with scopes_disabled():
        yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.AXES_ENABLED = False
    # Assertions read English messages; the zh-hans default is tested in tests/test_i18n.py.
    settings.LANGUAGE_CODE = "en"
    from django.utils import translation

    translation.activate("en")
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def eager_celery():
    """Run Celery tasks inline (as the bench and CELERY_TASK_ALWAYS_EAGER=1 do)."""
    from config.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = old


@pytest.fixture(autouse=True)
def _sms_locmem(settings):
    """Every test sends SMS into the in-memory outbox (tests read it; doubles would show)."""
    from notifications.sms.backends import locmem

    settings.SMS_BACKEND = "notifications.sms.backends.locmem.SmsBackend"
    locmem.outbox.clear()
    yield locmem.outbox
    locmem.outbox.clear()


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


requires_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (set DATABASE_URL=postgres://…); SQLite cannot run concurrent row locks",
)
requires_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a real Redis (set REDIS_URL)")
