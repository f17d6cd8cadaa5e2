"""The spreadsheet columns of the sub-account registry: one list for the import template,
the importer and the exporter. Column names are the API field names; Chinese titles
(and a few spellings people actually use) are accepted as aliases. The cells are read with
the field rules of agency.fields, shared with the services."""

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from agency import fields
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


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, choice, int, money, bool, date, mobile, email, tags, country, parent
    title_zh: str
    aliases: tuple[str, ...] = ()
    choices: type | None = None
    example: object = ""

    @property
    def max_length(self) -> int | None:
        if self.kind in ("text",):
            return SubAccount._meta.get_field(self.name).max_length
        return None


COLUMNS: list[Column] = [
    Column("platform", "choice", "平台", ("平台名称",), Platform, "douyin"),
    Column("platform_account_id", "text", "平台账号ID", ("账号id", "平台账号", "账号", "uid"), example="dy_1234567"),
    Column("display_name", "text", "账号名称", ("昵称", "名称", "账号昵称"), example="小鹿美食日记"),
    Column("kind", "choice", "账号类型", ("类型",), AccountKind, "personal"),
    Column("region", "choice", "地区", ("区域", "境内外"), Region, "domestic"),
    Column("country", "country", "国家", ("国家/地区", "国家代码"), example="CN"),
    Column("followers", "int", "粉丝数", ("粉丝", "粉丝量"), example=12500),
    Column("blue_v", "bool", "蓝V认证", ("蓝v",), example=False),
    Column("high_risk", "bool", "高舆情风险", ("舆情风险", "高风险"), example=False),
    Column("parent", "parent", "所属主账号", ("主账号", "矩阵主账号"), example=""),
    Column("status", "choice", "状态", ("账号状态",), SubAccountStatus, "active"),
    Column("tags", "tags", "标签", (), example="重点; 直播"),
    Column("notes", "text", "备注", ("说明",), example=""),
    Column("owner_name", "text", "账号主体", ("账号主体姓名", "账号管理员", "子账号管理员", "账号持有人", "持有人",
                                              "所有人", "负责人", "姓名", "创作者", "创作者姓名"), example="张三"),
    Column("owner_mobile", "mobile", "手机号", ("手机", "手机号码", "联系电话", "管理员手机号"), example="+8613800138000"),
    Column("owner_email", "email", "邮箱", ("电子邮箱", "email", "管理员邮箱"), example="zhangsan@example.cn"),
    Column("owner_relation", "choice", "与账号关系", ("账号主体关系", "持有人关系", "关系"), OwnerRelation, "creator"),
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
    # R9.4 decision model (optional columns)
    Column("stage", "choice", "账号阶段", ("发展阶段", "阶段"), AccountStage, "mature"),
    Column("income_need", "choice", "变现需求", ("盈利需求", "是否需要变现"), IncomeNeed, "low"),
    Column("content_cost", "choice", "内容生产成本", ("内容成本", "制作成本"), ContentCost, "high"),
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


# --- cells → values ----------------------------------------------------------------------------
def _choice_converter(choices: type):
    return lambda value: fields.choice(choices, value)


def _text_converter(max_length: int | None):
    return lambda value: fields.bounded_text(value, max_length=max_length)


CONVERTERS = {
    "int": fields.whole_number, "money": fields.money, "bool": fields.yes_no, "date": fields.calendar_date,
    "mobile": fields.mobile, "email": fields.email, "tags": lambda value: fields.tags(fields.text(value)),
    "country": fields.country, "parent": fields.parent_ref,
}


@functools.cache
def converter(name: str):
    """The function that turns a cell of this column into its value (or raises FieldError)."""
    col = COLUMNS_BY_NAME[name]
    if col.kind == "text":
        return _text_converter(col.max_length)
    if col.kind == "choice":
        return _choice_converter(col.choices)
    return CONVERTERS[col.kind]


def convert(col: Column, value):
    """One cell → a Python value, or FieldError."""
    return converter(col.name)(value)
