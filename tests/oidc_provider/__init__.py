"""A tiny OpenID Connect provider (django-oauth-toolkit) that the SSO tests start in a separate
process: its own SQLite file and an RSA key made at test time (tests/accounts/oidc_server.py)."""
