import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_scopes import scopes_disabled

from accounts.models import Membership
from agency.models import Agency, SubAccount

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _run_check(env_overrides, *args):
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", "check", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_a_secret_key():
    result = _run_check({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    result = _run_check({"DEBUG": "0", "SECRET_KEY": "dev-insecure-secret-key-change-me"})
    assert result.returncode != 0


def test_check_deploy_is_clean_under_production_settings():
    result = _run_check({"DEBUG": "0", "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-key-!@#",
                         "ALLOWED_HOSTS": "mcn.example.cn"}, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_security_headers(client):
    response = client.get("/accounts/login/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo")


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_complete(settings):
    settings.DEBUG = True
    call_command("seed_demo", accounts=210, stdout=open(os.devnull, "w"))
    call_command("seed_demo", accounts=210, stdout=open(os.devnull, "w"))
    assert set(Agency.objects.values_list("slug", flat=True)) >= {"demo-mcn", "rival-mcn"}
    with scopes_disabled():
        for slug in ("demo-mcn", "rival-mcn"):
            accounts = SubAccount.objects.filter(agency__slug=slug)
            assert accounts.count() == 210
            assert set(accounts.values_list("platform", flat=True)) == {
                "weibo", "douyin", "kuaishou", "wechat", "bilibili", "xiaohongshu"}
            roles = set(Membership.objects.filter(agency__slug=slug).values_list("role", flat=True))
            assert roles == {"owner", "admin", "operator", "legal", "finance", "auditor"}
