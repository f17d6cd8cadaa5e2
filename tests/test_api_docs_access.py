"""The schema and the API docs: for logged-in users only unless API_DOCS_PUBLIC; served from this
machine under the project's CSP (every script nonce'd, none inline)."""

import re

import pytest


@pytest.mark.django_db
def test_anonymous_visitors_get_no_schema_and_are_sent_to_log_in(client, settings):
    settings.API_DOCS_PUBLIC = False
    schema = client.get("/api/v1/schema/")
    assert schema.status_code in (401, 403)
    assert b"\"status\"" in schema.content or b"status:" in schema.content
    for url in ("/api/v1/docs/", "/api/v1/redoc/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_public_docs_when_configured(client, settings):
    settings.API_DOCS_PUBLIC = True
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/redoc/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_keep_the_csp_and_stay_on_this_machine(client, world_a, url):
    client.force_login(world_a.user("admin"))
    response = client.get(url)
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    html = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    assert all(f'nonce="{nonce}"' in attrs and "src=" in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"(src|href)=\"https?://", html)
    assert "fonts.googleapis" not in html


@pytest.mark.django_db
def test_get_of_an_import_confirmation_is_405(world_a):
    response = world_a.client("operator").get(f"/a/{world_a.agency.slug}/sub-accounts/import/1/confirm/")
    assert response.status_code == 405
