"""zh-hans is the default language: the catalogue is complete and every page renders in it."""

import re
from pathlib import Path

import pytest

PO = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_catalogue_has_no_untranslated_or_fuzzy_entry():
    text = PO.read_text(encoding="utf-8")
    entries = text.split("\n\n")[1:]  # skip the header
    untranslated = []
    for entry in entries:
        if "#, fuzzy" in entry:
            untranslated.append(entry)
            continue
        msgstrs = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', entry + "\n", re.M)
        if msgstrs and all(re.sub(r'"\s*"', "", m).strip() == '""' for m in msgstrs):
            untranslated.append(entry)
    assert untranslated == [], f"{len(untranslated)} untranslated, e.g. {untranslated[:3]}"


@pytest.mark.django_db
def test_login_page_is_chinese_by_default_and_english_on_request(client, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    body = client.get("/accounts/login/").content.decode()
    assert 'lang="zh-hans"' in body
    assert "登录" in body
    body = client.get("/accounts/login/", headers={"accept-language": "en"}).content.decode()
    assert 'lang="en"' in body
    assert "Log in" in body
