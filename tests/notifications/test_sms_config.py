"""settings.SMS_TEMPLATES is checked at start-up: `manage.py check` (and runserver, migrate)
refuses a wrong one with a message naming the kind, the provider and what is wrong."""

from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from notifications.sms.config import problems
from notifications.sms.templates import SMS_TEMPLATES, sms_variables
from tests.notifications.test_sms_providers import config

pytestmark = pytest.mark.django_db


def refused(settings, templates, backend="notifications.sms.backends.aliyun.SmsBackend") -> str:
    settings.SMS_TEMPLATES = templates
    settings.SMS_BACKEND = backend
    with pytest.raises(SystemCheckError) as exc:
        call_command("check")
    return str(exc.value)


def test_a_complete_setting_passes(settings):
    settings.SMS_TEMPLATES = config()
    settings.SMS_BACKEND = "notifications.sms.backends.tencent.SmsBackend"
    assert problems() == []
    call_command("check")


def test_an_unknown_kind_is_refused_with_the_real_kind_names(settings):
    text = refused(settings, {**config(), "deadline_reminder": {"aliyun": {"id": "SMS_1"}}})
    assert "unknown message kind 'deadline_reminder'" in text and "reminder, alert, signing_link" in text


def test_missing_and_unknown_variables_are_named(settings):
    templates = config()
    templates["reminder"]["tencent"]["variables"] = ["account", "date", "label"]
    text = refused(settings, templates)
    assert "SMS_TEMPLATES['reminder']['tencent']: variables missing: item, days" in text
    assert "unknown variables: label" in text


def test_a_variable_over_the_limit_is_refused(settings):
    templates = config()
    templates["signing_link"]["tencent"]["max_length"] = 12  # an individually certified Tencent account
    text = refused(settings, templates)
    assert (
        "SMS_TEMPLATES['signing_link']['tencent']: variable 'token' holds up to 20 characters, over the limit of 12"
        in text
    )


def test_a_kind_the_product_sends_by_sms_needs_a_template_of_the_configured_provider(settings):
    templates = config()
    del templates["signing_code"]["aliyun"]
    text = refused(settings, templates)
    assert "SMS_TEMPLATES['signing_code']['aliyun']: no template" in text


def test_json_from_the_environment_and_its_mistakes(settings):
    settings.SMS_BACKEND = "notifications.sms.backends.console.SmsBackend"
    settings.SMS_TEMPLATES = '{"reminder": {"aliyun": {"id": "SMS_1"}}}'
    assert problems() == []
    settings.SMS_TEMPLATES = '{"reminder": '
    assert problems()[0].startswith("SMS_TEMPLATES is not valid JSON")
    settings.SMS_TEMPLATES = {"reminder": {"huawei": {"id": "1"}, "aliyun": {}}}
    assert problems() == [
        "SMS_TEMPLATES['reminder']['huawei']: unknown provider; use aliyun or tencent.",
        "SMS_TEMPLATES['reminder']['aliyun']: the provider's template id is missing (\"id\").",
    ]


@pytest.mark.django_db
def test_names_are_shortened_to_the_template_limit(world_a, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    values = sms_variables(
        kind="reminder",
        agency=world_a.agency,
        secrets={},
        limit=12,
        params={
            "account": "小鹿的日常生活记录与美食探店分享频道",
            "label": "Drafts expire (R2.1)",
            "due_date": "2026-12-31 18:00",
            "days_before": 7,
        },
    )
    assert values == {
        "account": "小鹿的日常生活记录与美…",
        "item": values["item"],
        "date": "2026年12月31日",
        "days": "7",
    }
    assert list(values) == SMS_TEMPLATES["reminder"].names and len(values["item"]) <= 12


def test_the_readme_lists_every_kind_with_its_variables_and_wording():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### SMS templates", 1)[1].split("\n## ", 1)[0]
    for kind, template in SMS_TEMPLATES.items():
        assert f"| `{kind}`" in section, kind
        assert template.wording in section, kind
        assert ", ".join(f"`{n}`" for n in template.names) in section, kind
    example = section.split("SMS_TEMPLATES='", 1)[1].split("'", 1)[0]
    from django.test import override_settings

    with override_settings(SMS_TEMPLATES=example, SMS_BACKEND="notifications.sms.backends.aliyun.SmsBackend"):
        assert problems() == []


def test_free_text_never_carries_a_link_into_a_variable():
    from notifications.sms.templates import clip

    assert clip("星海 https://evil.example/x 传媒", 35) == "星海 传媒"
    assert clip("www.shop.cn小店", 35) == ""
    assert clip("一二三四五六七八九十", 5) == "一二三四…"


def test_a_celery_worker_refuses_to_start_on_a_wrong_setting(settings):
    from celery.signals import worker_init

    from notifications.checks import refuse_to_start_on_sms_template_problems as on_worker_init

    assert ("notifications.sms_templates", mock.ANY) in [key for key, _receiver in worker_init.receivers]
    settings.SMS_TEMPLATES = {"remind": {}}
    with pytest.raises(SystemExit, match="unknown message kind 'remind'"):
        on_worker_init()
    settings.SMS_TEMPLATES = config()
    on_worker_init()
