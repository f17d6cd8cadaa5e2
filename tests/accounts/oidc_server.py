"""Start the local OpenID Connect provider (tests/oidc_provider) in its own process.

`start_provider(redirect_uris)` makes an RSA key and a SQLite file in a temporary folder, sets
the provider up (one client, three people) and runs it with Django's runserver on a free port;
it returns the issuer URL and a stop function, or raises ProviderUnavailable with the reason."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "backoffice-client"
CLIENT_SECRET = "backoffice-secret-for-tests"
START_SECONDS = 25


class ProviderUnavailable(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_provider(redirect_uris: list[str]):
    folder = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.oidc_provider.settings",
        "OIDC_PROVIDER_DB": str(folder / "db.sqlite3"),
        "OIDC_PROVIDER_KEY": str(folder / "key.pem"),
        "PYTHONPATH": str(ROOT),
    }
    for name in ("DATABASE_URL", "TESTING"):
        env.pop(name, None)
    setup = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.oidc_provider.setup_provider",
            CLIENT_ID,
            CLIENT_SECRET,
            *redirect_uris,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if setup.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise ProviderUnavailable("the OIDC provider could not be set up: " + setup.stderr[-500:])
    port = _free_port()
    log = open(folder / "server.log", "w")  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    issuer = f"http://127.0.0.1:{port}/o"

    def stop():
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)

    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if requests.get(issuer + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                return issuer, stop
        except requests.RequestException:
            pass
        time.sleep(0.2)
    output = (folder / "server.log").read_text()[-500:]
    stop()
    raise ProviderUnavailable("the OIDC provider did not start: " + output)


def sign_in_at_provider(authorize_url: str, username: str, password: str = "idp-pass") -> str:
    """What a person does at the IdP: open the authorize URL, log in; returns the redirect back
    to the back office (the callback URL with code and state)."""
    browser = requests.Session()
    page = browser.get(authorize_url, allow_redirects=True, timeout=10)
    assert "Company IdP" in page.text, page.text[:300]
    next_url = parse_qs(urlsplit(page.url).query).get("next", [""])[0]
    response = browser.post(
        page.url,
        data={
            "username": username,
            "password": password,
            "next": next_url,
            "csrfmiddlewaretoken": browser.cookies.get("csrftoken"),
        },
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )
    url = page.url
    for _hop in range(5):  # the provider's own redirects (login → authorize) until it sends us back
        assert response.status_code == 302, response.text[:500]
        url = urljoin(url, response.headers["Location"])
        if not url.startswith(authorize_url.split("/o/", 1)[0]):
            return url
        response = browser.get(url, allow_redirects=False, timeout=10)
    raise AssertionError("the provider never sent the person back")
