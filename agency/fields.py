"""The rules of the sub-account fields, in one place.

Every way into the registry normalises and validates a field value with these functions:
the spreadsheet importer (cell by cell, see agency.importers.columns), the services behind
the API and the back-office forms (agency.services.subaccounts) and the forms themselves.
A refused value raises FieldError, whose text is the message shown to the user.

The functions are written for the importer's fast path (10,000 rows in a few seconds):
no ORM call, no model instance, caches where values repeat.
"""

import functools
import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts.models import normalise_mobile
from agency.models import (
    AccountKind,
    AccountStage,
    ContentCost,
    IncomeNeed,
    OwnerRelation,
    Platform,
    Region,
    SubAccount,
    SubAccountStatus,
)
from agency.services.tags import TAG_MAX_LENGTH, tags_normalise


class FieldError(ValueError):
    """A value a field refuses; the message is shown to the user (with its row and column in an import)."""


# --- accepted spellings of the choices ----------------------------------------------------------
PLATFORM_ALIASES = {
    "微博": "weibo", "新浪微博": "weibo", "微博视频号": "weibo", "抖音": "douyin", "快手": "kuaishou",
    "微信": "wechat", "视频号": "wechat", "微信视频号": "wechat", "公众号": "wechat", "微信公众号": "wechat",
    "b站": "bilibili", "哔哩哔哩": "bilibili", "小红书": "xiaohongshu", "红书": "xiaohongshu",
}
KIND_ALIASES = {
    "个人": "personal", "个人号": "personal", "企业": "enterprise", "企业号": "enterprise",
    "第三方": "third_party", "第三方授权": "third_party", "第三方授权账号": "third_party", "third-party": "third_party",
}
REGION_ALIASES = {"国内": "domestic", "境内": "domestic", "国际": "international", "海外": "international",
                  "境外": "international"}
STATUS_ALIASES = {
    "正常": "active", "活跃": "active", "运营中": "active", "休眠": "dormant", "受限": "restricted",
    "限流": "restricted", "待关停": "shutdown_pending", "关停中": "shutdown_pending", "已关停": "shut_down",
    "已注销": "shut_down",
}
RELATION_ALIASES = {
    "本人": "creator", "创作者": "creator", "法定代表人": "legal_representative", "法人": "legal_representative",
    "法人代表": "legal_representative", "继承人": "heir", "代理人": "agent", "经纪人": "agent",
}
COUNTRY_ALIASES = {"中国": "CN", "新加坡": "SG", "马来西亚": "MY", "美国": "US", "日本": "JP", "德国": "DE",
                   "英国": "GB", "韩国": "KR", "泰国": "TH", "中国香港": "HK", "香港": "HK", "澳门": "MO",
                   "台湾": "TW"}
# R9.4 decision model: the words people write for stage, need to earn money and content cost.
STAGE_ALIASES = {"成长": "growing", "上升期": "growing", "成熟": "mature", "稳定期": "mature", "衰退": "declining",
                 "下滑期": "declining"}
INCOME_NEED_ALIASES = {"需要": "high", "是": "high", "高": "high", "有": "high", "不需要": "low", "否": "low",
                       "低": "low", "无": "low"}
CONTENT_COST_ALIASES = {"较高": "high", "中等": "medium", "一般": "medium", "较低": "low"}
CHOICE_ALIASES: dict[type, dict[str, str]] = {
    Platform: PLATFORM_ALIASES, AccountKind: KIND_ALIASES, Region: REGION_ALIASES,
    SubAccountStatus: STATUS_ALIASES, OwnerRelation: RELATION_ALIASES, AccountStage: STAGE_ALIASES,
    IncomeNeed: INCOME_NEED_ALIASES, ContentCost: CONTENT_COST_ALIASES,
}

# --- limits and vocabularies --------------------------------------------------------------------
# What a spreadsheet may run as a formula: the ASCII triggers and their full-width forms (＝＋－＠),
# which Excel and WPS also take as formula triggers (Chinese input methods type them).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
TRUE_WORDS = {"1", "true", "yes", "y", "是", "有", "对", "√", "✓", "✔", "开", "开通", "已开通", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "无", "没有", "×", "✗", "关", "未开通", "f", "-"}
NUMBER_JUNK = re.compile(r"[,，\s_'’¥￥元]")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%Y-%m-%d %H:%M:%S",
                "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M")
ISO_LIKE_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00)?)?")
# A two-digit year as LibreOffice/Excel in a zh-CN locale write a date "as shown": 26年12月31日.
SHORT_YEAR_CN = re.compile(r"(\d{2})年(\d{1,2})月(\d{1,2})日?")
# 26/12/31, 31.12.26: read only where a single reading (yy/mm/dd, dd/mm/yy, mm/dd/yy) is a date.
SHORT_YEAR_NUMERIC = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{1,2})")
MONEY_MAX = Decimal(10) ** (
    SubAccount._meta.get_field("unwithdrawn_earnings").max_digits
    - SubAccount._meta.get_field("unwithdrawn_earnings").decimal_places
)
INT_MAX = 2147483647  # PositiveIntegerField on every supported database
CN_MOBILE = re.compile(r"(?:\+?86)?(1\d{10})")
PHONE_NOISE = re.compile(r"[\s\-()（）]")
COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")
STRIPPED_TEXT_FIELDS = ("platform_account_id", "display_name", "owner_name")


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value) -> str:
    """Any value → trimmed NFC text (a whole float loses its “.0”; the exporter's formula guard is undone)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    result = unicodedata.normalize("NFC", str(value)).strip()
    # Undo the exporter's formula neutralisation ('=…, '+86…).
    if result.startswith("'") and result[1:2] in FORMULA_PREFIXES:
        result = result[1:]
    return result


def bounded_text(value, *, max_length: int | None) -> str:
    result = text(value)
    if max_length and len(result) > max_length:
        raise FieldError(_("Too long: at most %(n)d characters.") % {"n": max_length})
    return result


def number_text(value) -> str:
    """A number as people write it, without thousands separators, spaces and currency signs."""
    return NUMBER_JUNK.sub("", unicodedata.normalize("NFKC", text(value)))


@functools.lru_cache(maxsize=64)
@functools.lru_cache(maxsize=128)
def choice_index(choices: type, language: str | None) -> dict[str, str]:
    """Every accepted spelling of a choice → its value (labels in this language, English and
    zh-hans — a Chinese export imports back from the English UI —, aliases, values)."""
    index: dict[str, str] = {}
    for value, label in choices.choices:
        index[str(label).lower()] = value
        for code in ("en", "zh-hans"):
            with translation.override(code):
                index[str(label).lower()] = value
    for alias, value in CHOICE_ALIASES.get(choices, {}).items():
        index[alias.lower()] = value
    for value in choices.values:
        index[value.lower()] = value
    return index


def choice_labels(choices: type) -> str:
    """The allowed values as people write them, in the current language: “微博、抖音、快手…”."""
    return pgettext("list separator", ", ").join(str(label) for _value, label in choices.choices)


def choice(choices: type, value) -> str:
    written = text(value)
    found = choice_index(choices, translation.get_language()).get(written.lower())
    if found is None:
        raise FieldError(_("“%(value)s” is not one of: %(choices)s.") % {"value": written,
                                                                          "choices": choice_labels(choices)})
    return found


def whole_number(value) -> int:
    """A count (followers, orders…): 0 to INT_MAX; “1.2万” and “1,200” are accepted."""
    if isinstance(value, bool):
        raise FieldError(_("“%(value)s” is not a whole number.") % {"value": value})
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise FieldError(_("“%(value)s” is not a whole number.") % {"value": value})
        number = int(value)
    else:
        digits = number_text(value)
        multiplier = 1
        if digits.endswith("万"):
            digits, multiplier = digits[:-1], 10_000
        elif digits.endswith("亿"):
            digits, multiplier = digits[:-1], 100_000_000
        try:
            amount = Decimal(digits) * multiplier
        except InvalidOperation as exc:
            raise FieldError(_("“%(value)s” is not a whole number.") % {"value": text(value)}) from exc
        if amount != amount.to_integral_value():
            raise FieldError(_("“%(value)s” is not a whole number.") % {"value": text(value)})
        number = int(amount)
    if number < 0:
        raise FieldError(_("%(value)s is negative: it must be 0 or more.") % {"value": number})
    if number > INT_MAX:
        raise FieldError(_("%(value)s is too large.") % {"value": number})
    return number


def money(value) -> Decimal:
    """An amount in yuan: 0 or more, at most two decimal places (fen)."""
    if isinstance(value, bool):
        raise FieldError(_("“%(value)s” is not an amount in yuan.") % {"value": value})
    try:
        if isinstance(value, int | float):
            amount = Decimal(str(value))
        else:
            amount = Decimal(number_text(value))
    except InvalidOperation as exc:
        raise FieldError(_("“%(value)s” is not an amount in yuan.") % {"value": text(value)}) from exc
    if not amount.is_finite():
        raise FieldError(_("“%(value)s” is not an amount in yuan.") % {"value": text(value)})
    if amount < 0:
        raise FieldError(_("%(value)s is negative: an amount must be 0 or more.") % {"value": amount})
    if amount != amount.quantize(Decimal("0.01")):
        raise FieldError(_("%(value)s has more than two decimal places (fen).") % {"value": amount})
    if amount >= MONEY_MAX:
        raise FieldError(_("%(value)s is too large.") % {"value": amount})
    return amount.quantize(Decimal("0.01"))


def yes_no(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    key = text(value).lower()
    if key in TRUE_WORDS:
        return True
    if key in FALSE_WORDS:
        return False
    raise FieldError(_("“%(value)s” is not yes or no (use 是/否, yes/no or 1/0).") % {"value": text(value)})


def _century(two_digits: str) -> int:
    """A two-digit year in this century (26 → 2026)."""
    return 2000 + int(two_digits)


def short_year_date(value) -> date | None:
    """The date a cell means when it is written with a two-digit year (`26年12月31日`, or `32/1/5`
    where only one reading is a date); None when it is not written that way. FieldError when
    the numbers can be read as two different dates (`26/12/31`: 2026-12-31 or 2031-12-26)."""
    if isinstance(value, date):
        return None
    written = unicodedata.normalize("NFKC", text(value))
    match = SHORT_YEAR_CN.fullmatch(written)
    if match:
        year, month, day = match.groups()
        try:
            return date(_century(year), int(month), int(day))
        except ValueError:
            raise FieldError(_("“%(value)s” is not a date (use YYYY-MM-DD, e.g. 2026-12-31).")
                             % {"value": written}) from None
    match = SHORT_YEAR_NUMERIC.fullmatch(written)
    if not match:
        return None
    a, _sep, b, c = match.groups()
    readings = set()
    for year, month, day in ((a, b, c), (c, b, a), (c, a, b)):  # yy/mm/dd, dd/mm/yy, mm/dd/yy
        if len(year) != 2:
            continue
        try:
            readings.add(date(_century(year), int(month), int(day)))
        except ValueError:
            continue
    if len(readings) == 1:
        return readings.pop()
    if readings:
        raise FieldError(_("“%(value)s” can be read as %(dates)s: write the year in full (e.g. 2026-12-31).")
                         % {"value": written, "dates": _(" or ").join(d.isoformat() for d in sorted(readings))})
    return None


def calendar_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    written = unicodedata.normalize("NFKC", text(value))
    short = short_year_date(written)
    if short is not None:
        return short
    match = ISO_LIKE_DATE.fullmatch(written)
    if match:
        try:
            return date(*(int(g) for g in match.groups()))
        except ValueError:
            pass
    else:
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(written, fmt).date()  # noqa: DTZ007 (a calendar date, no time zone)
            except ValueError:
                continue
    raise FieldError(_("“%(value)s” is not a date (use YYYY-MM-DD, e.g. 2026-12-31).") % {"value": written})


@functools.lru_cache(maxsize=4096)
def cn_mobile_prefix_valid(prefix7: str) -> bool:
    """Whether Chinese mobile numbers starting with these 7 digits are valid (libphonenumber
    decides validity of an 11-digit CN mobile by its leading digits, so one check per prefix;
    the cache key is the prefix alone, or it would never hit)."""
    try:
        normalise_mobile(prefix7 + "0000")
    except ValidationError:
        return False
    return True


def mobile_e164(value: str | None) -> str:
    """A mobile number as people type it → E.164 (blank → ""); raises ValidationError with the
    messages of accounts.models.normalise_mobile. Chinese mobiles take a fast path that gives
    the same answer as libphonenumber."""
    value = value or ""
    match = CN_MOBILE.fullmatch(PHONE_NOISE.sub("", unicodedata.normalize("NFKC", value)))
    if match and cn_mobile_prefix_valid(match.group(1)[:7]):
        return "+86" + match.group(1)
    return normalise_mobile(value)


def mobile(value) -> str:
    """mobile_e164 of a cell, refusing with one message."""
    written = text(value)
    try:
        return mobile_e164(written)
    except ValidationError as exc:
        raise FieldError(_("“%(value)s” is not a valid mobile number.") % {"value": written}) from exc


def email_normalise(value) -> str:
    """Trimmed and lower-case; the address itself is checked by `email` or by the model field."""
    return (value or "").strip().lower()


def email(value) -> str:
    address = text(value).lower()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise FieldError(_("“%(value)s” is not an email address.") % {"value": address}) from exc
    return address


def too_long_tags(tags: list[str]) -> list[str]:
    return [tag for tag in tags if len(tag) > TAG_MAX_LENGTH]


def tag_too_long_message(tag: str) -> str:
    return _("A tag has at most %(n)d characters: “%(tag)s”.") % {"n": TAG_MAX_LENGTH, "tag": tag}


def tags(value) -> list[str]:
    """A list or a delimited string → sorted distinct tags, each at most TAG_MAX_LENGTH characters."""
    result = tags_normalise(value)
    too_long = too_long_tags(result)
    if too_long:
        raise FieldError(tag_too_long_message(too_long[0]))
    return result


def country_normalise(value) -> str:
    """Trimmed and upper-case (the model field checks the length)."""
    return (value or "").strip().upper()


def country(value) -> str:
    """A two-letter country code, or a Chinese country name people write instead."""
    written = text(value)
    if written in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[written]
    if COUNTRY_CODE.fullmatch(written):
        return written.upper()
    raise FieldError(_("“%(value)s” is not a two-letter country code (e.g. CN, SG).") % {"value": written})


def parent_ref(value) -> tuple[str | None, str]:
    """“抖音:dy_123” (the platform by its name in either language, or its code) or just “dy_123” (same platform as the row) → (platform or None, account id)."""
    written = text(value)
    if ":" in written:
        platform, _sep, account_id = written.partition(":")
        platform_key = platform.strip().lower()
        platform = choice_index(Platform, translation.get_language()).get(platform_key, platform_key)
        if platform not in Platform.values:
            raise FieldError(_("“%(value)s”: unknown platform before the colon.") % {"value": written})
        return platform, account_id.strip()
    return None, written
