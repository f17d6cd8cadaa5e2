"""settings.SMS_TEMPLATES: per message kind, per provider, the registered template.

    SMS_TEMPLATES = {
        "reminder": {
            "aliyun":  {"id": "SMS_465000001", "sign_name": "星海传媒"},
            "tencent": {"id": "2012345", "sign_name": "星海传媒", "variables": ["date", "account", "item", "days"],
                        "max_length": 12},
        },
        …
    }

- the keys are message kinds (notifications.sms.templates.SMS_TEMPLATES);
- `id`: the provider's template code (Aliyun `SMS_…`) or template id (Tencent, digits);
- `sign_name`: the registered signature (default settings.SMS_SIGN_NAME);
- `variables`: the template's variables in the order it uses them (default the order of
  notifications.sms.templates); it must name each of the kind's variables exactly once;
- `max_length`: the longest value a variable may hold (default 35: Aliyun's default;
  Tencent allows 12 on individually certified accounts).

Checked at start-up (notifications.checks): a mistake stops `manage.py check`, runserver and
the workers with a message naming the kind, provider and variable. A kind without a template
is never sent under another name: its SMS fails with a message saying what to configure.
"""

import json
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from notifications.sms.templates import DEFAULT_MAX_LENGTH, SMS_TEMPLATES

PROVIDERS = ("aliyun", "tencent")
# Kinds the product sends by SMS on its own (reminders, alerts, signing): with a provider
# backend, each needs a template. Other kinds go by SMS only where a template is configured.
REQUIRED_KINDS = ("reminder", "alert", "signing_link", "signing_code")


@dataclass(frozen=True)
class ProviderTemplate:
    kind: str
    provider: str
    template_id: str
    sign_name: str
    variables: tuple[str, ...]
    max_length: int


class TemplateConfigError(ValueError):
    pass


def raw_setting() -> dict:
    raw = getattr(settings, "SMS_TEMPLATES", {}) or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "{}")
        except ValueError as exc:
            raise TemplateConfigError(f"SMS_TEMPLATES is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise TemplateConfigError("SMS_TEMPLATES must map message kinds to providers' templates.")
    return raw


def problems() -> list[str]:
    """Every mistake in SMS_TEMPLATES, each in one sentence; [] when it is sound."""
    try:
        raw = raw_setting()
    except TemplateConfigError as exc:
        return [str(exc)]
    found = []
    for kind, providers in raw.items():
        if kind not in SMS_TEMPLATES:
            found.append(
                f"SMS_TEMPLATES: unknown message kind {kind!r}; the kinds are {', '.join(SMS_TEMPLATES)}."
            )
            continue
        if not isinstance(providers, dict):
            found.append(f"SMS_TEMPLATES[{kind!r}] must map providers ({', '.join(PROVIDERS)}) to templates.")
            continue
        declared = SMS_TEMPLATES[kind]
        for provider, entry in providers.items():
            where = f"SMS_TEMPLATES[{kind!r}][{provider!r}]"
            if provider not in PROVIDERS:
                found.append(f"{where}: unknown provider; use {' or '.join(PROVIDERS)}.")
                continue
            if not isinstance(entry, dict) or not str(entry.get("id") or "").strip():
                found.append(f'{where}: the provider\'s template id is missing ("id").')
                continue
            names = entry.get("variables", declared.names)
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                found.append(f'{where}: "variables" must be a list of names.')
                continue
            missing = [n for n in declared.names if n not in names]
            unknown = [n for n in names if n not in declared.names]
            doubled = sorted({n for n in names if names.count(n) > 1})
            if missing:
                found.append(
                    f"{where}: variables missing: {', '.join(missing)} (the template of {kind!r} uses "
                    f"{', '.join(declared.names)})."
                )
            if unknown:
                found.append(
                    f"{where}: unknown variables: {', '.join(unknown)} (the template of {kind!r} uses "
                    f"{', '.join(declared.names)})."
                )
            if doubled:
                found.append(f"{where}: variables named twice: {', '.join(doubled)}.")
            limit = entry.get("max_length", DEFAULT_MAX_LENGTH)
            if not isinstance(limit, int) or limit < 1:
                found.append(f'{where}: "max_length" must be a positive number of characters.')
                continue
            for variable in declared.variables:
                if not variable.clipped and variable.max_length > limit:
                    found.append(
                        f"{where}: variable {variable.name!r} holds up to {variable.max_length} characters, "
                        f"over the limit of {limit}."
                    )
    provider = backend_provider()
    if provider:
        for kind in REQUIRED_KINDS:
            if provider not in (raw.get(kind) or {}):
                found.append(
                    f"SMS_TEMPLATES[{kind!r}][{provider!r}]: no template, but SMS_BACKEND sends through "
                    f"{provider} and {kind!r} messages go by SMS."
                )
    return found


def backend_provider(path: str | None = None) -> str:
    """'aliyun' / 'tencent' for a provider backend, '' for the development ones."""
    try:
        backend = import_string(path or settings.SMS_BACKEND)
    except ImportError:
        return ""
    return getattr(backend, "provider", "") or ""


def template_for(kind: str, provider: str) -> ProviderTemplate:
    """The template of `kind` at `provider`; TemplateConfigError when there is none."""
    entry = (raw_setting().get(kind) or {}).get(provider)
    if kind not in SMS_TEMPLATES:
        raise TemplateConfigError(f"Messages of kind {kind!r} have no SMS template.")
    if not entry or not entry.get("id"):
        raise TemplateConfigError(
            f"No {provider} SMS template for {kind!r} messages: set "
            f"SMS_TEMPLATES[{kind!r}][{provider!r}] (see the README, SMS templates)."
        )
    return ProviderTemplate(
        kind=kind,
        provider=provider,
        template_id=str(entry["id"]),
        sign_name=str(entry.get("sign_name") or settings.SMS_SIGN_NAME),
        variables=tuple(entry.get("variables") or SMS_TEMPLATES[kind].names),
        max_length=int(entry.get("max_length", DEFAULT_MAX_LENGTH)),
    )


def sms_available(kind: str) -> bool:
    """Whether messages of `kind` can go by SMS with the configured backend."""
    if kind not in SMS_TEMPLATES:
        return False
    provider = backend_provider()
    return not provider or provider in (raw_setting().get(kind) or {})
