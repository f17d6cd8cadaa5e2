"""Make the provider's database: migrate, one person, one client (run before the server starts).

Usage: python -m tests.oidc_provider.setup_provider CLIENT_ID CLIENT_SECRET REDIRECT_URI [REDIRECT_URI…]
People: alice@corp.example (password "idp-pass") and bob@corp.example (amr says otp)."""

import sys

import django
from django.core.management import call_command

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from oauth2_provider.models import Application  # noqa: E402

call_command("migrate", verbosity=0)
client_id, secret, *redirects = sys.argv[1:]
User.objects.create_user("alice", email="alice@corp.example", password="idp-pass", first_name="Alice")
User.objects.create_user(
    "bob", email="bob@corp.example", password="idp-pass", first_name="Bob", last_name="mfa"
)
User.objects.create_user("eve", email="eve@elsewhere.example", password="idp-pass", first_name="Eve")
Application.objects.create(
    name="back office",
    client_id=client_id,
    client_secret=secret,
    client_type=Application.CLIENT_CONFIDENTIAL,
    authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
    redirect_uris=" ".join(redirects),
    algorithm=Application.RS256_ALGORITHM,
    skip_authorization=True,
)
