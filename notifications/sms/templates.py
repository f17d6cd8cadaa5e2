"""What each kind of message says by SMS: its template variables, in order, and their values.

Chinese SMS providers only send texts registered in advance as templates; a message fills
the template's variables. This module is the one list of those variables, per message kind
(the `kind` of an outbox row): their names in the order of the suggested template, what each
holds, how long it may get, and how its value is made from the row — in the agency's
language (a deadline's label translated, dates as people read them: 2026年12月31日), never
an internal value (no kind codes, flags or paths) and never a link (Tencent forbids links in
variables; the signing link's fixed address is part of the template, its variable is the
short token only).

The README's SMS section and the start-up check (notifications.checks) read this module;
settings.SMS_TEMPLATES maps each kind to each provider's template (notifications.sms.config).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.utils import translation

from notifications.secrets import SHORT_TOKEN_LENGTH

# Aliyun: a variable of a notification template holds at most 35 characters unless the
# template was registered with a longer one; Tencent: 12 for individually certified
# accounts, no limit for companies (the setting may say "max_length": 12).
DEFAULT_MAX_LENGTH = 35
TOKEN_LENGTH = SHORT_TOKEN_LENGTH  # the signing link's token (notifications.secrets.short_token)


@dataclass(frozen=True)
class Context:
    """What a variable is made from: the row's params, its sealed secrets (delivery only),
    the agency and the language of the SMS."""

    params: dict
    secrets: dict
    agency_name: str
    language: str


@dataclass(frozen=True)
class Variable:
    name: str
    meaning: str  # what it holds (README)
    example: str  # a zh-hans value (README, tests)
    max_length: int  # the longest value it is given
    build: Callable[[Context], str]
    clipped: bool = True  # a longer value is shortened (names); False: fixed (codes, dates)


@dataclass(frozen=True)
class SmsTemplate:
    kind: str
    variables: tuple[Variable, ...]
    wording: str  # the suggested Chinese text to register (${name} variables)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]


# Something a provider would take for a link inside free text (a name someone typed).
LINK_LIKE = re.compile(r"(?:https?://|www\.)\S*", re.IGNORECASE)


def clip(value: str, limit: int) -> str:
    """Free text as a variable: one line, no link in it, at most `limit` characters (… when cut)."""
    value = " ".join(LINK_LIKE.sub("", str(value or "")).split())
    return value if len(value) <= limit else value[: max(limit - 1, 0)] + "…"


def _parse_moment(value) -> datetime | date | None:
    """Dates stored on a row as the agency's local "YYYY-MM-DD HH:MM" / "YYYY-MM-DD" (or ISO)."""
    text = str(value or "").strip()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, fmt)  # noqa: DTZ007 - already the agency's local time
        except ValueError:
            continue
        return parsed if " " in text else parsed.date()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def format_date(value, language: str) -> str:
    """A date as people read it: 2026年12月31日 (Chinese), 31 Dec 2026 (English)."""
    moment = _parse_moment(value)
    if moment is None:
        return ""
    day = moment.date() if isinstance(moment, datetime) else moment
    if language.startswith("zh"):
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {day.strftime('%b')} {day.year}"


def format_moment(value, language: str) -> str:
    """A date and time: 2026年12月31日18:00 (Chinese), 31 Dec 2026 18:00."""
    moment = _parse_moment(value)
    if not isinstance(moment, datetime):
        return format_date(value, language)
    joiner = "" if language.startswith("zh") else " "
    return f"{format_date(value, language)}{joiner}{moment:%H:%M}"


def _param(name: str, limit: int) -> Callable[[Context], str]:
    return lambda ctx: clip(ctx.params.get(name, ""), limit)


def _translated(name: str, limit: int) -> Callable[[Context], str]:
    """A label stored as its English source text, in the SMS's language."""

    def build(ctx: Context) -> str:
        with translation.override(ctx.language):
            return clip(translation.gettext(str(ctx.params.get(name, ""))), limit)

    return build


def _date(name: str) -> Callable[[Context], str]:
    return lambda ctx: format_date(ctx.params.get(name), ctx.language)


def _moment(name: str) -> Callable[[Context], str]:
    return lambda ctx: format_moment(ctx.params.get(name), ctx.language)


def _agency(ctx: Context) -> str:
    return clip(ctx.agency_name, 20)


def _count(name: str) -> Callable[[Context], str]:
    return lambda ctx: str(int(ctx.params.get(name) or 0))


def _appeal_outcome(ctx: Context) -> str:
    with translation.override(ctx.language):
        return (
            translation.gettext("appeal upheld")
            if ctx.params.get("upheld") in (True, "True", "true", 1)
            else translation.gettext("appeal denied")
        )


NAME = 20  # names (accounts, tasks, people) are shortened to this many characters
DATE_LEN = len("2026年12月31日")
MOMENT_LEN = len("2026年12月31日18:00")

AGENCY = Variable("agency", "the agency's name", "星海传媒", NAME, _agency)
TASK = Variable("task", "the shutdown task's title", "2026年第四季度关停", NAME, _param("task", NAME))
LEVEL = Variable("level", "the approval level's name", "法务审核", NAME, _param("level", NAME))
DUE = Variable(
    "due",
    "when the level is due (agency time)",
    "2026年12月31日18:00",
    MOMENT_LEN,
    _moment("due_at"),
    clipped=False,
)
ACCOUNT = Variable("account", "the account's display name", "小星星的日常", NAME, _param("account", NAME))
BY = Variable("name", "who did it", "张三", NAME, _param("by", NAME))

SMS_TEMPLATES: dict[str, SmsTemplate] = {
    t.kind: t
    for t in (
        SmsTemplate(
            "reminder",
            (
                ACCOUNT,
                Variable(
                    "item",
                    "what is due, in the agency's language (the deadline's label)",
                    "账号在此日期前不能重新开通",
                    NAME,
                    _translated("label", NAME),
                ),
                Variable(
                    "date",
                    "the due date (agency time)",
                    "2026年12月31日",
                    DATE_LEN,
                    _date("due_date"),
                    clipped=False,
                ),
                Variable("days", "days left (0 = today)", "7", 4, _count("days_before"), clipped=False),
            ),
            "关停提醒：账号${account}的“${item}”截止日期为${date}，还剩${days}天，请及时处理。",
        ),
        SmsTemplate(
            "alert",
            (
                ACCOUNT,
                Variable(
                    "problem",
                    "what the monitoring saw, in the agency's language",
                    "粉丝下降",
                    NAME,
                    _translated("rule_label", NAME),
                ),
            ),
            "监控告警：已关停账号${account}出现异常（${problem}），请立即登录后台处理。",
        ),
        SmsTemplate(
            "signing_link",
            (
                AGENCY,
                ACCOUNT,
                Variable(
                    "date",
                    "the last day the link works (agency time)",
                    "2026年12月31日",
                    DATE_LEN,
                    _date("expires_at"),
                    clipped=False,
                ),
                Variable(
                    "token",
                    "the link's one-time token (20 characters, 100 bits), after the fixed address",
                    "k7m2p9xq4r8t3w6y5z2a",
                    TOKEN_LENGTH,
                    lambda ctx: str(ctx.secrets.get("token", "")),
                    clipped=False,
                ),
            ),
            "${agency}请您确认关停账号${account}，请于${date}前打开 https://<您的域名>/s/${token} 阅读说明并签署或拒绝。",
        ),
        SmsTemplate(
            "signing_code",
            (
                Variable(
                    "code",
                    "the 6-digit one-time code",
                    "493027",
                    6,
                    lambda ctx: str(ctx.secrets.get("code", "")),
                    clipped=False,
                ),
            ),
            "您的签署验证码为${code}，仅限本人使用，请勿告诉他人。",
        ),
        SmsTemplate(
            "approval_request",
            (AGENCY, TASK, LEVEL, DUE),
            "${agency}：关停任务“${task}”等待您在“${level}”审批，请于${due}前登录后台处理。",
        ),
        SmsTemplate(
            "approval_sla_reminder",
            (AGENCY, TASK, LEVEL, DUE),
            "${agency}：关停任务“${task}”在“${level}”的审批已于${due}到期，请尽快处理，否则将升级至机构负责人。",
        ),
        SmsTemplate(
            "approval_escalated",
            (AGENCY, TASK, LEVEL, DUE),
            "${agency}：关停任务“${task}”在“${level}”的审批已超过期限（${due}），现由您作为机构负责人决定。",
        ),
        SmsTemplate(
            "approval_appeal", (TASK, BY), "${name}对关停任务“${task}”的驳回提出申诉，请登录后台处理。"
        ),
        SmsTemplate(
            "approval_appeal_decided",
            (
                TASK,
                Variable(
                    "outcome",
                    "the appeal's outcome, in the agency's language",
                    "已支持",
                    8,
                    _appeal_outcome,
                    clipped=False,
                ),
            ),
            "您对关停任务“${task}”的申诉结果：${outcome}，详情请登录后台查看。",
        ),
        SmsTemplate(
            "task_rejected",
            (TASK, LEVEL, BY),
            "关停任务“${task}”在“${level}”被${name}驳回，已退回草稿，请登录后台查看原因。",
        ),
        SmsTemplate(
            "signature_declined",
            (
                TASK,
                ACCOUNT,
                Variable("owner", "the account holder's name", "李四", NAME, _param("owner", NAME)),
            ),
            "账号主体${owner}拒绝签署关停任务“${task}”中的账号${account}，该账号已移出执行范围。",
        ),
        SmsTemplate(
            "tier_ready",
            (
                TASK,
                Variable("tier", "the tier's name", "第一批", NAME, _param("tier", NAME)),
                Variable("count", "how many accounts were signed", "12", 6, _count("signed"), clipped=False),
            ),
            "关停任务“${task}”的“${tier}”已全部签署（${count}个账号），可以执行。",
        ),
    )
}


def sms_language(agency) -> str:
    """The language of an agency's SMS (its registered templates are in it): the agency's
    language where it has one, else the site's (zh-hans)."""
    return str((getattr(agency, "settings", None) or {}).get("language") or settings.LANGUAGE_CODE)


def sms_variables(*, kind: str, params: dict, secrets: dict, agency, limit: int = DEFAULT_MAX_LENGTH) -> dict:
    """The variables of one message, in the template's order, each at most `limit` long
    (names are shortened; fixed values are checked against the limit at start-up).
    Raises KeyError for a kind that has no SMS template."""
    template = SMS_TEMPLATES[kind]
    ctx = Context(
        params=dict(params or {}),
        secrets=dict(secrets or {}),
        agency_name=agency.name,
        language=sms_language(agency),
    )
    values = {}
    for variable in template.variables:
        value = variable.build(ctx)
        values[variable.name] = clip(value, limit) if variable.clipped else value
    return values


def render_wording(kind: str, values: dict) -> str:
    """The suggested wording filled in (what the console backend shows)."""
    text = SMS_TEMPLATES[kind].wording
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text.replace("https://<您的域名>", settings.SITE_URL.rstrip("/"))
