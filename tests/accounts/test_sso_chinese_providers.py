"""DingTalk, Feishu and WeCom sign-in, offline: the authorization URL we send people to, and the
callback with the providers' token and user endpoints answered by stubs (no network)."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.test import Client
from django_scopes import scopes_disabled

from accounts.models import Membership, SecurityEvent, User
from agency.models import SsoLink
from agency.sso import provider_save
from agency.sso_providers import DingTalkAdapter, FeishuAdapter, WeComAdapter


def _link(world, kind, slug, **extra):
    data = {
        "kind": kind,
        "slug": slug,
        "display_name": slug.title(),
        "client_id": "app-id",
        "auto_join_role": "auditor",
        **extra,
    }
    return provider_save(
        agency=world.agency, actor=world.user("owner"), client_secret="app-secret", data=data
    )


def _start(client, slug):
    response = client.get(f"/sso/alpha-mcn/{slug}/")
    assert response.status_code == 302
    url = response["Location"]
    return url, {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def member(world_a):
    user = User.objects.create_user(email="li.lei@corp.example", password=None)
    Membership.objects.create(user=user, agency=world_a.agency, role="operator")
    return user


@pytest.mark.django_db
@responses.activate(assert_all_requests_are_fired=True)
def test_dingtalk(world_a, member):
    _link(world_a, "dingtalk", "dingtalk", corp_id="ding-corp-1")
    client = Client()
    url, params = _start(client, "dingtalk")
    assert url.startswith(DingTalkAdapter.AUTHORIZE_URL + "?")
    assert params["client_id"] == "app-id" and params["response_type"] == "code"
    assert params["redirect_uri"] == "http://testserver/sso/alpha-mcn/dingtalk/callback/"
    assert params["scope"] == "openid corpid" and len(params["state"]) >= 20
    responses.post(
        DingTalkAdapter.TOKEN_URL,
        json={"accessToken": "at-1", "expireIn": 7200, "corpId": "ding-corp-1"},
        match=[
            responses.matchers.json_params_matcher(
                {
                    "clientId": "app-id",
                    "clientSecret": "app-secret",
                    "code": "the-code",
                    "grantType": "authorization_code",
                }
            )
        ],
    )
    responses.get(
        DingTalkAdapter.USER_URL,
        json={"nick": "李雷", "unionId": "union-1", "email": "Li.Lei@corp.example"},
        match=[responses.matchers.header_matcher({"x-acs-dingtalk-access-token": "at-1"})],
    )
    response = client.get(
        "/sso/alpha-mcn/dingtalk/callback/", {"authCode": "the-code", "state": params["state"]}
    )
    assert response.status_code == 302 and response["Location"] == "/a/alpha-mcn/"
    assert client.get("/a/alpha-mcn/").wsgi_request.user == member
    with scopes_disabled():
        assert SsoLink.objects.get(subject="union-1").user == member


@pytest.mark.django_db
@responses.activate
def test_dingtalk_of_another_organisation_is_refused(world_a, member):
    _link(world_a, "dingtalk", "dingtalk", corp_id="ding-corp-1")
    client = Client()
    _url, params = _start(client, "dingtalk")
    responses.post(DingTalkAdapter.TOKEN_URL, json={"accessToken": "at-1", "corpId": "someone-else"})
    response = client.get("/sso/alpha-mcn/dingtalk/callback/", {"authCode": "c", "state": params["state"]})
    assert response.status_code == 403
    assert "did not complete" in response.content.decode()
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.SSO_LOGIN).exists()


@pytest.mark.django_db
@responses.activate(assert_all_requests_are_fired=True)
def test_feishu(world_a, member):
    _link(world_a, "feishu", "feishu", corp_id="tenant-9")
    client = Client()
    url, params = _start(client, "feishu")
    assert url.startswith(FeishuAdapter.AUTHORIZE_URL + "?")
    assert params["client_id"] == "app-id" and params["response_type"] == "code"
    assert params["redirect_uri"] == "http://testserver/sso/alpha-mcn/feishu/callback/"
    responses.post(
        FeishuAdapter.TOKEN_URL,
        json={"code": 0, "access_token": "u-token", "expires_in": 7200},
        match=[
            responses.matchers.json_params_matcher(
                {
                    "grant_type": "authorization_code",
                    "client_id": "app-id",
                    "client_secret": "app-secret",
                    "code": "fs-code",
                    "redirect_uri": "http://testserver/sso/alpha-mcn/feishu/callback/",
                }
            )
        ],
    )
    responses.get(
        FeishuAdapter.USER_URL,
        json={
            "code": 0,
            "msg": "success",
            "data": {
                "name": "李雷",
                "open_id": "ou_1",
                "union_id": "on_1",
                "tenant_key": "tenant-9",
                "enterprise_email": "li.lei@corp.example",
            },
        },
        match=[responses.matchers.header_matcher({"Authorization": "Bearer u-token"})],
    )
    response = client.get("/sso/alpha-mcn/feishu/callback/", {"code": "fs-code", "state": params["state"]})
    assert response.status_code == 302 and client.get("/a/alpha-mcn/").wsgi_request.user == member


@pytest.mark.django_db
@responses.activate
def test_feishu_error_envelope_is_refused(world_a, member):
    _link(world_a, "feishu", "feishu", corp_id="tenant-9")
    client = Client()
    _url, params = _start(client, "feishu")
    responses.post(FeishuAdapter.TOKEN_URL, json={"code": 20003, "error_description": "code expired"})
    response = client.get("/sso/alpha-mcn/feishu/callback/", {"code": "old", "state": params["state"]})
    assert response.status_code == 403 and "Start again" in response.content.decode()


@pytest.mark.django_db
@responses.activate(assert_all_requests_are_fired=True)
def test_wecom(world_a, member):
    _link(world_a, "wecom", "wecom", corp_id="ww-corp", client_id="1000002")
    client = Client()
    url, params = _start(client, "wecom")
    assert url.startswith(WeComAdapter.AUTHORIZE_URL + "?")
    assert params == {
        "login_type": "CorpApp",
        "appid": "ww-corp",
        "agentid": "1000002",
        "redirect_uri": "http://testserver/sso/alpha-mcn/wecom/callback/",
        "state": params["state"],
    }
    responses.get(
        WeComAdapter.TOKEN_URL,
        json={"errcode": 0, "access_token": "corp-token"},
        match=[responses.matchers.query_param_matcher({"corpid": "ww-corp", "corpsecret": "app-secret"})],
    )
    responses.get(
        WeComAdapter.USERINFO_URL,
        json={"errcode": 0, "userid": "LiLei"},
        match=[responses.matchers.query_param_matcher({"access_token": "corp-token", "code": "wc"})],
    )
    responses.get(
        WeComAdapter.USER_URL,
        json={"errcode": 0, "name": "李雷", "biz_mail": "li.lei@corp.example"},
        match=[responses.matchers.query_param_matcher({"access_token": "corp-token", "userid": "LiLei"})],
    )
    response = client.get("/sso/alpha-mcn/wecom/callback/", {"code": "wc", "state": params["state"]})
    assert response.status_code == 302 and client.get("/a/alpha-mcn/").wsgi_request.user == member


@pytest.mark.django_db
@responses.activate
def test_wecom_outsider_and_a_forged_state_are_refused(world_a, member):
    _link(world_a, "wecom", "wecom", corp_id="ww-corp", client_id="1000002")
    client = Client()
    _url, params = _start(client, "wecom")
    # a forged state never reaches the provider
    assert client.get("/sso/alpha-mcn/wecom/callback/", {"code": "wc", "state": "forged"}).status_code == 403
    assert len(responses.calls) == 0
    _url, params = _start(client, "wecom")
    responses.get(WeComAdapter.TOKEN_URL, json={"errcode": 0, "access_token": "corp-token"})
    responses.get(WeComAdapter.USERINFO_URL, json={"errcode": 0, "openid": "outsider"})
    response = client.get("/sso/alpha-mcn/wecom/callback/", {"code": "wc", "state": params["state"]})
    assert response.status_code == 403 and client.get("/a/alpha-mcn/").status_code == 302


@pytest.mark.django_db
def test_the_client_secret_is_sealed_and_never_shown(world_a, caplog):
    provider = _link(world_a, "feishu", "feishu")
    assert "app-secret" not in provider.client_secret_sealed
    client = world_a.client("owner")
    session = client.session
    session["mfa_verified_at"] = 2**31
    session.save()
    page = client.get("/a/alpha-mcn/security/sso/")
    assert page.status_code == 200 and "app-secret" not in page.content.decode()
    assert "••••••••" in page.content.decode()
    edit = client.get(f"/a/alpha-mcn/security/sso/{provider.pk}/").content.decode()
    assert "app-secret" not in edit and "Leave empty to keep it" in edit
    assert "app-secret" not in json.dumps([r.getMessage() for r in caplog.records])
