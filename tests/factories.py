"""factory_boy factories. Scoped models are created with scopes disabled (tests only)."""

import factory
from django_scopes import scopes_disabled

from accounts.models import Membership, User
from accounts.roles import Role
from agency.models import Agency, SubAccount

PASSWORD = "test-pass-123"


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"agency-{n}")
    name = factory.LazyAttribute(lambda o: f"机构 {o.slug}")
    # No second factor required unless a test asks (the product default is tested in tests/accounts).
    settings = factory.LazyFunction(lambda: {"mfa_required_roles": []})


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.cn")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    agency = factory.SubFactory(AgencyFactory)
    role = Role.OPERATOR


class ScopedFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with scopes_disabled():
            return super()._create(model_class, *args, **kwargs)


class SubAccountFactory(ScopedFactory):
    class Meta:
        model = SubAccount

    agency = factory.SubFactory(AgencyFactory)
    platform = "douyin"
    platform_account_id = factory.Sequence(lambda n: f"dy_{100000 + n}")
    display_name = factory.Sequence(lambda n: f"小鹿美食日记{n}")
    kind = "personal"
    followers = 1200
    owner_name = "张三"
    owner_mobile = "+8613800138000"
    owner_email = factory.Sequence(lambda n: f"owner{n}@example.cn")
