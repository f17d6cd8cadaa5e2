"""The protocol side of single sign-on: one adapter per kind of identity provider.

- OpenID Connect goes entirely through Authlib's Django client (`DjangoOAuth2App`): discovery,
  state, nonce, PKCE (S256), the code exchange and the ID token's signature and claims
  (iss, aud, exp, nonce) checked against the provider's published keys. One client is built per
  request from the agency's IdentityProvider row, so every agency can run its own IdP.
- DingTalk, Feishu and WeCom speak their own dialects of OAuth 2 (JSON bodies, tokens in
  headers, an app token for WeCom): Authlib builds the authorization URL and the state; the code
  exchange and the user lookup are the few documented HTTP calls below, each checked for the
  provider's error envelope. With `corp_id` set, the person must belong to that organisation.

An adapter returns an `Identity`; what happens next (who may sign in) is agency/sso.py's.
"""

from dataclasses import dataclass, field

import requests
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.integrations.django_client import DjangoIntegration, DjangoOAuth2App, OAuthError

HTTP_TIMEOUT = 10
SESSION_STATE = "sso_state"
# amr values (RFC 8176) that mean the IdP checked more than a password
MFA_AMR = frozenset({"mfa", "otp", "hwk", "swk", "sms", "fpt", "face", "iris", "pop"})


class SsoError(Exception):
    """The provider refused or answered something unusable; the message is for the person."""


@dataclass
class Identity:
    subject: str
    email: str = ""
    email_verified: bool = False
    name: str = ""
    amr: list[str] = field(default_factory=list)

    @property
    def idp_did_mfa(self) -> bool:
        return bool(MFA_AMR & set(self.amr))


def _json(response: requests.Response, what: str) -> dict:
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code >= 400 or not isinstance(data, dict):
        raise SsoError(f"{what}: HTTP {response.status_code}")
    return data


class _StateMixin:
    """State for the providers that Authlib's OIDC client does not handle: one random value in the
    session per sign-in attempt, checked and dropped on the way back."""

    def _new_state(self, request) -> str:
        state = generate_token(32)
        request.session[SESSION_STATE] = {"state": state, "provider": self.provider.pk}
        return state

    def _check_state(self, request) -> str:
        saved = request.session.pop(SESSION_STATE, None) or {}
        code = request.GET.get("code") or request.GET.get("authCode") or ""
        if (
            not saved
            or saved.get("provider") != self.provider.pk
            or saved.get("state") != request.GET.get("state")
        ):
            raise SsoError("state mismatch")
        if not code:
            raise SsoError(request.GET.get("error_description") or request.GET.get("error") or "no code")
        return code


class OidcAdapter:
    def __init__(self, provider, client_secret: str):
        self.provider = provider
        issuer = provider.issuer.rstrip("/")
        metadata = (
            issuer
            if issuer.endswith("/.well-known/openid-configuration")
            else (issuer + "/.well-known/openid-configuration")
        )
        self.client = DjangoOAuth2App(
            DjangoIntegration(f"sso{provider.pk}"),
            name=f"sso{provider.pk}",
            client_id=provider.client_id,
            client_secret=client_secret,
            server_metadata_url=metadata,
            client_kwargs={
                "scope": "openid email profile",
                "code_challenge_method": "S256",
                "timeout": HTTP_TIMEOUT,
            },
        )

    def authorize_url(self, request, redirect_uri: str) -> str:
        try:
            return self.client.authorize_redirect(request, redirect_uri)["Location"]
        except (requests.RequestException, OAuthError, ValueError, KeyError) as exc:
            raise SsoError(f"discovery failed: {exc}") from exc

    def identity(self, request, redirect_uri: str) -> Identity:
        try:
            token = self.client.authorize_access_token(request)
        except (requests.RequestException, OAuthError, ValueError, KeyError) as exc:
            raise SsoError(str(exc)) from exc
        claims = dict(token.get("userinfo") or {})
        if not claims.get("sub"):
            raise SsoError("no ID token")
        if not claims.get("email"):  # some IdPs put the email only in the userinfo endpoint
            try:
                claims.update({k: v for k, v in self.client.userinfo(token=token).items() if k != "sub"})
            except (requests.RequestException, OAuthError, ValueError) as exc:
                raise SsoError(str(exc)) from exc
        amr = claims.get("amr") or []
        return Identity(
            subject=str(claims["sub"]),
            email=(claims.get("email") or "").strip().lower(),
            email_verified=claims.get("email_verified") is not False,
            name=claims.get("name") or "",
            amr=[str(a) for a in amr] if isinstance(amr, list) else [],
        )


class DingTalkAdapter(_StateMixin):
    AUTHORIZE_URL = "https://login.dingtalk.com/oauth2/auth"
    TOKEN_URL = "https://api.dingtalk.com/v1.0/oauth2/userAccessToken"
    USER_URL = "https://api.dingtalk.com/v1.0/contact/users/me"

    def __init__(self, provider, client_secret: str):
        self.provider, self.secret = provider, client_secret

    def authorize_url(self, request, redirect_uri: str) -> str:
        return add_params_to_uri(
            self.AUTHORIZE_URL,
            [
                ("redirect_uri", redirect_uri),
                ("response_type", "code"),
                ("client_id", self.provider.client_id),
                ("scope", "openid corpid"),
                ("state", self._new_state(request)),
                ("prompt", "consent"),
            ],
        )

    def identity(self, request, redirect_uri: str) -> Identity:
        code = self._check_state(request)
        token = _json(
            requests.post(
                self.TOKEN_URL,
                json={
                    "clientId": self.provider.client_id,
                    "clientSecret": self.secret,
                    "code": code,
                    "grantType": "authorization_code",
                },
                timeout=HTTP_TIMEOUT,
            ),
            "DingTalk token",
        )
        if not token.get("accessToken"):
            raise SsoError(token.get("message") or "DingTalk gave no token")
        if self.provider.corp_id and token.get("corpId") != self.provider.corp_id:
            raise SsoError("other organisation")
        user = _json(
            requests.get(
                self.USER_URL,
                headers={"x-acs-dingtalk-access-token": token["accessToken"]},
                timeout=HTTP_TIMEOUT,
            ),
            "DingTalk user",
        )
        if not user.get("unionId"):
            raise SsoError("DingTalk gave no user")
        return Identity(
            subject=user["unionId"],
            email=(user.get("email") or "").strip().lower(),
            email_verified=bool(self.provider.corp_id),
            name=user.get("nick") or "",
        )


class FeishuAdapter(_StateMixin):
    AUTHORIZE_URL = "https://accounts.feishu.cn/open-apis/authen/v1/authorize"
    TOKEN_URL = "https://open.feishu.cn/open-apis/authen/v2/oauth/token"
    USER_URL = "https://open.feishu.cn/open-apis/authen/v1/user_info"

    def __init__(self, provider, client_secret: str):
        self.provider, self.secret = provider, client_secret

    def authorize_url(self, request, redirect_uri: str) -> str:
        return add_params_to_uri(
            self.AUTHORIZE_URL,
            [
                ("client_id", self.provider.client_id),
                ("response_type", "code"),
                ("redirect_uri", redirect_uri),
                ("state", self._new_state(request)),
            ],
        )

    def identity(self, request, redirect_uri: str) -> Identity:
        code = self._check_state(request)
        token = _json(
            requests.post(
                self.TOKEN_URL,
                json={
                    "grant_type": "authorization_code",
                    "client_id": self.provider.client_id,
                    "client_secret": self.secret,
                    "code": code,
                    "redirect_uri": redirect_uri,
                },
                timeout=HTTP_TIMEOUT,
            ),
            "Feishu token",
        )
        if token.get("code", 0) != 0 or not token.get("access_token"):
            raise SsoError(token.get("error_description") or token.get("msg") or "Feishu gave no token")
        body = _json(
            requests.get(
                self.USER_URL,
                headers={"Authorization": f"Bearer {token['access_token']}"},
                timeout=HTTP_TIMEOUT,
            ),
            "Feishu user",
        )
        user = body.get("data") or {}
        if body.get("code", 0) != 0 or not (user.get("union_id") or user.get("open_id")):
            raise SsoError(body.get("msg") or "Feishu gave no user")
        if self.provider.corp_id and user.get("tenant_key") != self.provider.corp_id:
            raise SsoError("other organisation")
        email = user.get("enterprise_email") or user.get("email") or ""
        return Identity(
            subject=user.get("union_id") or user["open_id"],
            email=email.strip().lower(),
            email_verified=bool(self.provider.corp_id),
            name=user.get("name") or "",
        )


class WeComAdapter(_StateMixin):
    """WeCom (企业微信) web login for a self-built app: `corp_id` is the corporation, `client_id`
    the app's AgentId, the secret the app's Secret."""

    AUTHORIZE_URL = "https://login.work.weixin.qq.com/wwlogin/sso/login"
    TOKEN_URL = "https://qyapi.weixin.qq.com/cgi-bin/gettoken"
    USERINFO_URL = "https://qyapi.weixin.qq.com/cgi-bin/auth/getuserinfo"
    USER_URL = "https://qyapi.weixin.qq.com/cgi-bin/user/get"

    def __init__(self, provider, client_secret: str):
        self.provider, self.secret = provider, client_secret

    def authorize_url(self, request, redirect_uri: str) -> str:
        return add_params_to_uri(
            self.AUTHORIZE_URL,
            [
                ("login_type", "CorpApp"),
                ("appid", self.provider.corp_id),
                ("agentid", self.provider.client_id),
                ("redirect_uri", redirect_uri),
                ("state", self._new_state(request)),
            ],
        )

    @staticmethod
    def _ok(data: dict, what: str) -> dict:
        if data.get("errcode", 0) != 0:
            raise SsoError(f"{what}: {data.get('errcode')} {data.get('errmsg', '')}")
        return data

    def identity(self, request, redirect_uri: str) -> Identity:
        code = self._check_state(request)
        token = self._ok(
            _json(
                requests.get(
                    self.TOKEN_URL,
                    params={"corpid": self.provider.corp_id, "corpsecret": self.secret},
                    timeout=HTTP_TIMEOUT,
                ),
                "WeCom token",
            ),
            "WeCom token",
        )["access_token"]
        info = self._ok(
            _json(
                requests.get(
                    self.USERINFO_URL, params={"access_token": token, "code": code}, timeout=HTTP_TIMEOUT
                ),
                "WeCom user",
            ),
            "WeCom user",
        )
        userid = info.get("userid") or info.get("UserId")
        if not userid:  # an openid only: someone outside the corporation
            raise SsoError("other organisation")
        user = self._ok(
            _json(
                requests.get(
                    self.USER_URL, params={"access_token": token, "userid": userid}, timeout=HTTP_TIMEOUT
                ),
                "WeCom user detail",
            ),
            "WeCom user detail",
        )
        email = user.get("biz_mail") or user.get("email") or ""
        return Identity(
            subject=userid, email=email.strip().lower(), email_verified=True, name=user.get("name") or ""
        )


ADAPTERS = {"oidc": OidcAdapter, "dingtalk": DingTalkAdapter, "feishu": FeishuAdapter, "wecom": WeComAdapter}
