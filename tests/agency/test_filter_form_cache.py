"""The sub-account filter's form class is built once per process (speed, issue 16): what a
person sees must not depend on who asked before — labels follow each request's language and one
request's bad input never shows in the next one's form."""

from django.utils import translation

from agency.filters import SubAccountFilter
from agency.models import SubAccount


def _form(data):
    return SubAccountFilter(data=data, queryset=SubAccount.objects.none()).form


def test_form_class_is_reused():
    assert type(_form({})) is type(_form({"platform": "douyin"}))


def test_labels_follow_the_language_of_each_request():
    with translation.override("zh-hans"):
        zh = _form({}).fields["followers_min"].label
        zh_text = str(zh)
    with translation.override("en"):
        en_text = str(_form({}).fields["followers_min"].label)
    assert zh_text == "粉丝数不少于" and en_text == "Followers from"


def test_one_requests_error_does_not_leak_into_the_next(db):
    bad = _form({"followers_min": "很多"})
    assert not bad.is_valid() and "followers_min" in bad.errors
    good = _form({"followers_min": "100"})
    assert good.is_valid(), good.errors
    assert good.cleaned_data["followers_min"] == 100
