"""The spreadsheet columns of the sub-account registry: one list for the import template,
the importer and the exporter. Column names are the API field names; Chinese titles
(and a few spellings people actually use) are accepted as aliases."""

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import normalise_mobile
from agency.models import AccountKind, OwnerRelation, Platform, Region, SubAccount, SubAccountStatus
from agency.services.tags import TAG_MAX_LENGTH, tags_normalise


class CellError(ValueError):
    """A cell that cannot be read; the message is shown to the user with its row and column."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, choice, int, money, bool, date, mobile, email, tags, country, parent
    title_zh: str
    aliases: tuple[str, ...] = ()
    choices: type | None = None
    choice_aliases: dict = field(default_factory=dict)
    example: object = ""

    @property
    def max_length(self) -> int | None:
        if self.kind in ("text",):
            return SubAccount._meta.get_field(self.name).max_length
        return None


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

COLUMNS: list[Column] = [
    Column("platform", "choice", "平台", ("平台名称",), Platform, PLATFORM_ALIASES, "douyin"),
    Column("platform_account_id", "text", "平台账号ID", ("账号id", "平台账号", "账号", "uid"), example="dy_1234567"),
    Column("display_name", "text", "账号名称", ("昵称", "名称", "账号昵称"), example="小鹿美食日记"),
    Column("kind", "choice", "账号类型", ("类型",), AccountKind, KIND_ALIASES, "personal"),
    Column("region", "choice", "地区", ("区域", "境内外"), Region, REGION_ALIASES, "domestic"),
    Column("country", "country", "国家", ("国家/地区", "国家代码"), example="CN"),
    Column("followers", "int", "粉丝数", ("粉丝", "粉丝量"), example=12500),
    Column("blue_v", "bool", "蓝V认证", ("蓝v",), example=False),
    Column("high_risk", "bool", "高舆情风险", ("舆情风险", "高风险"), example=False),
    Column("parent", "parent", "所属主账号", ("主账号", "矩阵主账号"), example=""),
    Column("status", "choice", "状态", ("账号状态",), SubAccountStatus, STATUS_ALIASES, "active"),
    Column("tags", "tags", "标签", (), example="重点; 直播"),
    Column("notes", "text", "备注", ("说明",), example=""),
    Column("owner_name", "text", "账号管理员", ("负责人", "持有人", "所有人", "姓名", "创作者姓名"), example="张三"),
    Column("owner_mobile", "mobile", "手机号", ("手机", "手机号码", "联系电话", "管理员手机号"), example="+8613800138000"),
    Column("owner_email", "email", "邮箱", ("电子邮箱", "email", "管理员邮箱"), example="zhangsan@example.cn"),
    Column("owner_relation", "choice", "与账号关系", ("持有人关系", "关系"), OwnerRelation, RELATION_ALIASES, "creator"),
    Column("live_streaming", "bool", "直播权限", ("直播带货", "直播"), example=True),
    Column("unwithdrawn_earnings", "money", "未提现收益", ("未提现收益(元)", "未提现金额"), example=Decimal("1280.50")),
    Column("pending_ad_revenue", "money", "待结算广告分成", ("广告分成", "待结算广告收益"), example=Decimal("320.00")),
    Column("hosted_topics", "int", "主持话题数", ("话题主持", "主持话题"), example=0),
    Column("bound_mini_programs", "int", "绑定小程序数", ("未注销小程序", "小程序"), example=0),
    Column("third_party_authorisations", "int", "第三方授权数", ("第三方授权", "third_party_authorizations"),
           example=1),
    Column("api_anomaly", "bool", "接口调用异常", ("api异常", "接口异常"), example=False),
    Column("mcn_contract_end", "date", "MCN合约到期日", ("合约到期日", "mcn合约到期", "合同到期日"),
           example=date(2026, 12, 31)),
    Column("open_infringement_complaints", "int", "未结侵权投诉", ("侵权投诉",), example=0),
    Column("pending_orders", "int", "待履约订单", ("待履约商单", "待履约订单数"), example=2),
]
COLUMNS_BY_NAME = {c.name: c for c in COLUMNS}
KEY_COLUMNS = ("platform", "platform_account_id")
REQUIRED_ON_CREATE = ("platform", "platform_account_id", "display_name")

def header_key(text) -> str:
    """A header cell as people type it → a comparable key ("粉丝数 *", "Followers", "owner mobile")."""
    value = unicodedata.normalize("NFKC", str(text or "")).strip().lower().lstrip("\ufeff")
    value = re.sub(r"[（(](元|cny|rmb)[)）]$", "", value)
    return re.sub(r"[\s*_\-（）()【】\[\]：:]+", "", value)


HEADER_INDEX: dict[str, Column] = {}
for _col in COLUMNS:
    for _alias in (_col.name, _col.title_zh, *_col.aliases):
        HEADER_INDEX[header_key(_alias)] = _col
    HEADER_INDEX.setdefault(header_key(str(SubAccount._meta.get_field(_col.name).verbose_name)), _col)


# --- cell converters -------------------------------------------------------------------------
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
TRUE_WORDS = {"1", "true", "yes", "y", "是", "有", "对", "√", "✓", "✔", "开", "开通", "已开通", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "无", "没有", "×", "✗", "关", "未开通", "f", "-"}
NUMBER_JUNK = re.compile(r"[,，\s_'’¥￥元]")
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%Y-%m-%d %H:%M:%S",
                "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M")
MONEY_MAX = Decimal(10) ** (
    SubAccount._meta.get_field("unwithdrawn_earnings").max_digits
    - SubAccount._meta.get_field("unwithdrawn_earnings").decimal_places
)
INT_MAX = 2147483647  # PositiveIntegerField on every supported database


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFC", str(value)).strip()
    # Undo the exporter's formula neutralisation ('=…, '+86…).
    if text.startswith("'") and text[1:2] in FORMULA_PREFIXES:
        text = text[1:]
    return text


def _number_text(value) -> str:
    text = unicodedata.normalize("NFKC", _text(value))
    return NUMBER_JUNK.sub("", text)


@functools.lru_cache(maxsize=64)
def _choice_index(name: str, language: str | None) -> dict[str, str]:
    """Every accepted spelling of a choice column → its value (values, labels, aliases)."""
    col = COLUMNS_BY_NAME[name]
    index: dict[str, str] = {}
    for value, label in col.choices.choices:
        index[str(label).lower()] = value
        with translation.override("en"):
            index[str(label).lower()] = value
    for alias, value in col.choice_aliases.items():
        index[alias.lower()] = value
    for value in col.choices.values:
        index[value.lower()] = value
    return index


def _choice(col: Column, value) -> str:
    text = _text(value)
    found = _choice_index(col.name, translation.get_language()).get(text.lower())
    if found is None:
        raise CellError(_("“%(value)s” is not one of: %(choices)s.") % {"value": text,
                                                                        "choices": ", ".join(col.choices.values)})
    return found


def _int(value) -> int:
    if isinstance(value, bool):
        raise CellError(_("“%(value)s” is not a whole number.") % {"value": value})
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not value.is_integer():
            raise CellError(_("“%(value)s” is not a whole number.") % {"value": value})
        number = int(value)
    else:
        text = _number_text(value)
        multiplier = 1
        if text.endswith("万"):
            text, multiplier = text[:-1], 10_000
        elif text.endswith("亿"):
            text, multiplier = text[:-1], 100_000_000
        try:
            amount = Decimal(text) * multiplier
        except InvalidOperation as exc:
            raise CellError(_("“%(value)s” is not a whole number.") % {"value": _text(value)}) from exc
        if amount != amount.to_integral_value():
            raise CellError(_("“%(value)s” is not a whole number.") % {"value": _text(value)})
        number = int(amount)
    if number < 0:
        raise CellError(_("%(value)s is negative: it must be 0 or more.") % {"value": number})
    if number > INT_MAX:
        raise CellError(_("%(value)s is too large.") % {"value": number})
    return number


def _money(value) -> Decimal:
    if isinstance(value, bool):
        raise CellError(_("“%(value)s” is not an amount in yuan.") % {"value": value})
    try:
        if isinstance(value, int | float):
            amount = Decimal(str(value))
        else:
            amount = Decimal(_number_text(value))
    except InvalidOperation as exc:
        raise CellError(_("“%(value)s” is not an amount in yuan.") % {"value": _text(value)}) from exc
    if not amount.is_finite():
        raise CellError(_("“%(value)s” is not an amount in yuan.") % {"value": _text(value)})
    if amount < 0:
        raise CellError(_("%(value)s is negative: an amount must be 0 or more.") % {"value": amount})
    if amount != amount.quantize(Decimal("0.01")):
        raise CellError(_("%(value)s has more than two decimal places (fen).") % {"value": amount})
    if amount >= MONEY_MAX:
        raise CellError(_("%(value)s is too large.") % {"value": amount})
    return amount.quantize(Decimal("0.01"))


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    key = _text(value).lower()
    if key in TRUE_WORDS:
        return True
    if key in FALSE_WORDS:
        return False
    raise CellError(_("“%(value)s” is not yes or no (use 是/否, yes/no or 1/0).") % {"value": _text(value)})


ISO_LIKE_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]00:00(?::00)?)?")


def _date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", _text(value))
    match = ISO_LIKE_DATE.fullmatch(text)
    if match:
        try:
            return date(*(int(g) for g in match.groups()))
        except ValueError:
            pass
    else:
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date, no time zone)
            except ValueError:
                continue
    raise CellError(_("“%(value)s” is not a date (use YYYY-MM-DD, e.g. 2026-12-31).") % {"value": text})


CN_MOBILE = re.compile(r"(?:\+?86)?(1\d{10})")
PHONE_NOISE = re.compile(r"[\s\-()（）]")


@functools.lru_cache(maxsize=4096)
def _cn_mobile_prefix_valid(prefix7: str) -> bool:
    """Whether Chinese mobile numbers starting with these 7 digits are valid (libphonenumber
    decides validity of an 11-digit CN mobile by its leading digits, so one check per prefix;
    the cache key is the prefix alone, or it would never hit)."""
    try:
        normalise_mobile(prefix7 + "0000")
    except ValidationError:
        return False
    return True


def _mobile(value) -> str:
    text = _text(value)
    match = CN_MOBILE.fullmatch(PHONE_NOISE.sub("", unicodedata.normalize("NFKC", text)))
    if match and _cn_mobile_prefix_valid(match.group(1)[:7]):
        return "+86" + match.group(1)
    try:
        return normalise_mobile(text)
    except ValidationError as exc:
        raise CellError(_("“%(value)s” is not a valid mobile number.") % {"value": text}) from exc


def _email(value) -> str:
    text = _text(value).lower()
    try:
        validate_email(text)
    except ValidationError as exc:
        raise CellError(_("“%(value)s” is not an email address.") % {"value": text}) from exc
    return text


def _tags(value) -> list[str]:
    tags = tags_normalise(_text(value))
    for tag in tags:
        if len(tag) > TAG_MAX_LENGTH:
            raise CellError(_("A tag has at most %(n)d characters: “%(tag)s”.") % {"n": TAG_MAX_LENGTH, "tag": tag})
    return tags


def _country(value) -> str:
    text = _text(value)
    if text in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[text]
    if re.fullmatch(r"[A-Za-z]{2}", text):
        return text.upper()
    raise CellError(_("“%(value)s” is not a two-letter country code (e.g. CN, SG).") % {"value": text})


def parse_parent_ref(value) -> tuple[str | None, str]:
    """“douyin:dy_123” or just “dy_123” (same platform as the row)."""
    text = _text(value)
    if ":" in text:
        platform, _sep, account_id = text.partition(":")
        platform_key = platform.strip().lower()
        platform = PLATFORM_ALIASES.get(platform.strip(), platform_key)
        if platform not in Platform.values:
            raise CellError(_("“%(value)s”: unknown platform before the colon.") % {"value": text})
        return platform, account_id.strip()
    return None, text


def convert(col: Column, value):
    """One cell → a Python value, or CellError."""
    kind = col.kind
    if kind == "text":
        text = _text(value)
        if col.max_length and len(text) > col.max_length:
            raise CellError(_("Too long: at most %(n)d characters.") % {"n": col.max_length})
        return text
    return {
        "choice": lambda v: _choice(col, v), "int": _int, "money": _money, "bool": _bool, "date": _date,
        "mobile": _mobile, "email": _email, "tags": _tags, "country": _country, "parent": parse_parent_ref,
    }[kind](value)
