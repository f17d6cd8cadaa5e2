"""Deterministic demo data: two agencies, every role, 200+ sub-accounts on six platforms."""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext
from django_scopes import scope

from accounts.models import Membership, User
from accounts.roles import Role

from .models import AccountKind, Agency, OwnerRelation, Platform, Region, SubAccount, SubAccountStatus

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 (demo only; seed_demo refuses without DEBUG)

AGENCIES = [
    ("demo-mcn", "星河互娱 MCN（演示）", "Asia/Shanghai"),
    ("rival-mcn", "竞远文化传媒（演示）", "Asia/Shanghai"),
]
DEMO_AGENCY_SLUGS = [slug for slug, _name, _tz in AGENCIES]
ROLE_PEOPLE = {
    Role.OWNER: "赵静怡",
    Role.ADMIN: "钱浩然",
    Role.OPERATOR: "孙晓峰",
    Role.LEGAL: "李律",
    Role.FINANCE: "周会计",
    Role.AUDITOR: "吴审计",
}
EXTRA_DEMO_PEOPLE = [("operator2", Role.OPERATOR, "郑小雨"), ("legal2", Role.LEGAL, "王法明")]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ["子涵", "欣怡", "梓萱", "一诺", "浩宇", "宇轩", "雨桐", "思远", "佳琪", "俊杰", "诗涵", "晨曦", "子墨", "嘉怡",
         "明轩", "若曦", "天佑", "可馨", "博文", "紫萱", "志强", "丽娟", "海燕", "建华", "晓东", "婷婷", "伟", "静", "磊", "敏"]
HANDLE_PREFIX = ["小鹿", "阿紫", "老王", "大橙子", "胖虎", "甜甜", "阿飞", "小野", "七七", "糖糖", "大头", "米粒", "木子",
                 "山海", "北北", "南风", "一只", "阿凯", "星星", "豆豆"]
HANDLE_TOPIC = ["美食日记", "旅行Vlog", "穿搭笔记", "科技说", "萌宠日常", "健身打卡", "读书会", "探店", "家居改造", "数码测评",
                "亲子时光", "职场干货", "手工DIY", "汽车频道", "三农生活", "国风舞蹈", "游戏解说", "美妆教程", "摄影课堂", "财经观察"]
PLATFORM_ID_PREFIX = {
    Platform.WEIBO: "wb", Platform.DOUYIN: "dy", Platform.KUAISHOU: "ks",
    Platform.WECHAT: "wx", Platform.BILIBILI: "bili", Platform.XIAOHONGSHU: "xhs",
}
COUNTRIES_INTL = ["SG", "MY", "US", "JP", "DE", "GB"]
TAGS = ["重点", "续约中", "待评估", "矩阵主号", "直播", "品牌合作"]


def _mobile(rng: random.Random) -> str:
    return "+86" + rng.choice(["138", "139", "137", "150", "151", "186", "187", "135"]) + f"{rng.randrange(10**8):08d}"


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _subaccount_rows(slug: str, count: int) -> list[dict]:
    rng = random.Random(f"seed-{slug}")  # deterministic: re-running updates the same rows
    platforms = list(Platform)
    rows = []
    for i in range(count):
        platform = platforms[i % len(platforms)]
        intl = rng.random() < 0.08
        kind = rng.choices([AccountKind.PERSONAL, AccountKind.ENTERPRISE, AccountKind.THIRD_PARTY], [70, 20, 10])[0]
        relation = OwnerRelation.LEGAL_REPRESENTATIVE if kind == AccountKind.ENTERPRISE else rng.choices(
            [OwnerRelation.CREATOR, OwnerRelation.AGENT, OwnerRelation.HEIR], [85, 12, 3])[0]
        followers = int(rng.lognormvariate(8.5, 1.8))
        owner = _person(rng)
        rows.append({
            "platform": platform,
            "platform_account_id": f"{PLATFORM_ID_PREFIX[platform]}_{slug.split('-')[0]}_{10000 + i}",
            "display_name": f"{rng.choice(HANDLE_PREFIX)}{rng.choice(HANDLE_TOPIC)}",
            "kind": kind,
            "region": Region.INTERNATIONAL if intl else Region.DOMESTIC,
            "country": rng.choice(COUNTRIES_INTL) if intl else "CN",
            "followers": followers,
            "blue_v": kind == AccountKind.ENTERPRISE and rng.random() < 0.6,
            "high_risk": rng.random() < 0.05,
            "status": rng.choices(list(SubAccountStatus), [80, 8, 5, 4, 3])[0],
            "tags": sorted(set(rng.sample(TAGS, rng.randint(0, 2)))),
            "owner_name": owner,
            "owner_mobile": _mobile(rng),
            "owner_email": f"owner{i:04d}@{slug}.example.cn",
            "owner_relation": relation,
            "live_streaming": rng.random() < 0.3,
            "unwithdrawn_earnings": Decimal(rng.choice([0, 0, 0, rng.randint(100, 80000)])).quantize(Decimal("0.01")),
            "pending_ad_revenue": Decimal(rng.choice([0, 0, rng.randint(50, 3000)])).quantize(Decimal("0.01")),
            "hosted_topics": rng.choices([0, 1, 2], [85, 10, 5])[0],
            "bound_mini_programs": rng.choices([0, 1], [90, 10])[0],
            "third_party_authorisations": rng.choices([0, 1, 3], [75, 20, 5])[0],
            "api_anomaly": rng.random() < 0.04,
            "mcn_contract_end": date(2026, 1, 1) + timedelta(days=rng.randint(0, 900)),
            "open_infringement_complaints": rng.choices([0, 1], [93, 7])[0],
            "pending_orders": rng.choices([0, 1, 3, 7], [75, 12, 8, 5])[0],
            "notes": "",
        })
    return rows


@transaction.atomic
def seed_demo(*, accounts_per_agency: int = 240) -> list[tuple[str, str, str]]:
    """Create or update the demo data. Returns the demo logins (agency, role, email)."""
    logins = []
    for slug, name, tz in AGENCIES:
        agency, _ = Agency.objects.update_or_create(slug=slug, defaults={"name": name, "time_zone": tz})
        if "mfa_required_roles" not in (agency.settings or {}):
            # Demo logins stay password-only; an owner turns the requirement on in Security settings.
            agency.settings = {**(agency.settings or {}), "mfa_required_roles": []}
            agency.save(update_fields=["settings"])
        people = [(role.value, role, ROLE_PEOPLE[role]) for role in Role]
        if slug == "demo-mcn":
            people += EXTRA_DEMO_PEOPLE
        for local, role, full_name in people:
            email = f"{local}@{slug}.cn"
            user, created = User.objects.get_or_create(email=email, defaults={"full_name": full_name})
            if created or not user.has_usable_password():
                user.set_password(DEMO_PASSWORD)
            user.full_name = full_name
            user.mobile = _mobile(random.Random(email))
            user.save()
            Membership.objects.update_or_create(user=user, agency=agency, defaults={"role": role})
            logins.append((slug, str(role.label), email))
        with scope(agency=agency):
            for row in _subaccount_rows(slug, accounts_per_agency):
                SubAccount.objects.update_or_create(
                    agency=agency, platform=row.pop("platform"), platform_account_id=row.pop("platform_account_id"),
                    defaults=row,
                )
    # One consultant works for both agencies (switches between them).
    consultant, created = User.objects.get_or_create(email="consultant@mcn-demo.cn",
                                                     defaults={"full_name": "冯顾问"})
    if created:
        consultant.set_password(DEMO_PASSWORD)
        consultant.save()
    demo, rival = Agency.objects.get(slug="demo-mcn"), Agency.objects.get(slug="rival-mcn")
    _seed_security(demo)
    Membership.objects.update_or_create(user=consultant, agency=demo, defaults={"role": Role.OPERATOR})
    Membership.objects.update_or_create(user=consultant, agency=rival, defaults={"role": Role.AUDITOR})
    logins.append(("demo-mcn + rival-mcn", f"{Role.OPERATOR.label} / {Role.AUDITOR.label}", consultant.email))
    if not User.objects.filter(email="platform@mcn-demo.cn").exists():
        User.objects.create_superuser(email="platform@mcn-demo.cn", password=DEMO_PASSWORD, full_name="平台运营")
    logins.append((gettext("(platform operator, /admin/)"), gettext("Platform superuser"), "platform@mcn-demo.cn"))
    return logins


# legal2@demo-mcn.cn signs in with an authenticator app: add this key to one (README) to get codes.
DEMO_TOTP_KEY_HEX = "6d636e2d64656d6f2d746f74702d6b65792d3230"  # noqa: S105  (demo only; seed_demo needs DEBUG)
DEMO_INVITATION_TOKEN = "demo-invitation-for-new-legal"  # noqa: S105  → /invitations/<this>/
DEMO_INVITEE = "new.legal@demo-mcn.cn"


def _seed_security(agency) -> None:
    """A member with a TOTP device (and recovery codes) and one invitation waiting."""
    import hashlib
    from datetime import timedelta

    from django.utils import timezone
    from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from agency.models import Invitation, MemberChange

    legal2 = User.objects.get(email="legal2@demo-mcn.cn")
    TOTPDevice.objects.update_or_create(user=legal2, name="authenticator",
                                        defaults={"key": DEMO_TOTP_KEY_HEX, "confirmed": True})
    recovery, created = StaticDevice.objects.get_or_create(user=legal2, name="recovery", defaults={"confirmed": True})
    if created:
        StaticToken.objects.bulk_create([StaticToken(device=recovery, token=f"demo{n:04d}") for n in range(10)])
    owner = User.objects.get(email="owner@demo-mcn.cn")
    with scope(agency=agency):
        token_hash = hashlib.sha256(DEMO_INVITATION_TOKEN.encode()).hexdigest()
        if not Invitation.objects.filter(token_hash=token_hash).exists():
            Invitation.objects.create(agency=agency, email=DEMO_INVITEE, role=Role.LEGAL, token_hash=token_hash,
                                      invited_by=owner, expires_at=timezone.now() + timedelta(days=7))
            MemberChange.objects.create(agency=agency, kind=MemberChange.Kind.INVITED, email=DEMO_INVITEE,
                                        new_role=Role.LEGAL, actor=owner)
        else:  # keep the demo link alive on every run
            Invitation.objects.filter(token_hash=token_hash, accepted_at__isnull=True).update(
                expires_at=timezone.now() + timedelta(days=7), revoked_at=None)
