"""Warm a web worker before it takes traffic.

Django imports the URLconf (and with it every view, serializer and form module), reads the
translation catalogues, compiles templates and loads the static-files manifest on the first
request that needs them: after a deploy, or when gunicorn recycles a worker, that first request
took 0.4–0.6 s instead of 20–40 ms. gunicorn loads the WSGI application in each worker before the
worker accepts connections, so doing this work there (config/wsgi.py) moves it off the requests.

No database or cache is touched: a worker whose database is down still starts and answers
/healthz, and /readyz says it is not ready.
"""

import io
import logging
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.template import TemplateDoesNotExist, TemplateSyntaxError, engines
from django.urls import get_resolver
from django.utils import translation

from .middleware import WARM_UP_KEY

logger = logging.getLogger(__name__)


def _project_templates(pattern: str = "*.html", under: str = "") -> list[str]:
    """Template names under the project's own template folder (not third-party apps')."""
    names = []
    for folder in settings.TEMPLATES[0].get("DIRS", []):
        root = Path(folder)
        names += sorted(str(p.relative_to(root)) for p in (root / under).rglob(pattern))
    return names


def _render_login_page() -> int:
    """Render the sign-in page through the whole middleware stack once, in-process (the first
    render of the base layout resolves tag libraries, URLs and static names). Returns the HTTP
    status, or 0 when it could not be done; never raises (the boot must not depend on it)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import reverse

    hosts = [h for h in settings.ALLOWED_HOSTS if h and not h.startswith((".", "*"))]
    if not hosts:
        return 0
    statuses = []
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": reverse(settings.LOGIN_URL), "QUERY_STRING": "",
        "SERVER_NAME": hosts[0], "SERVER_PORT": "443", "HTTP_HOST": hosts[0], "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "https", "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "HTTP_ACCEPT_LANGUAGE": settings.LANGUAGE_CODE,
        WARM_UP_KEY: True,  # neither logged nor counted in the metrics (ops/middleware.py)
    }
    # Like Django's test client: this request must not open (or close) a database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, lambda status, headers, exc_info=None: statuses.append(status))
        b"".join(response)
        response.close()
    except Exception:  # noqa: BLE001 - a warm-up failure is logged; the worker still starts
        logger.warning("warm-up request failed", exc_info=True)
        return 0
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(statuses[0].split()[0]) if statuses else 0


def _load_urls() -> int:
    """Import the URLconf (every view) and build the reverse() tables; returns the top patterns."""
    resolver = get_resolver()
    patterns = len(resolver.url_patterns)
    resolver._populate()  # noqa: SLF001 - builds the reverse() tables the first reverse() would build
    return patterns


def _load_catalogues() -> None:
    for code, _label in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Sign in")


def _compile(names: list[str]) -> int:
    """Compile and cache these templates; returns how many compiled."""
    engine = engines["django"]
    templates = 0
    for name in names:
        try:
            engine.get_template(name)
            templates += 1
        except (TemplateDoesNotExist, TemplateSyntaxError):  # a partial that only makes sense included
            logger.debug("warm-up skipped template %s", name)
    return templates


def warm_up() -> dict[str, int]:
    """Do the per-process first-use work now; return what was loaded (for the log and tests)."""
    started = time.perf_counter()
    patterns = _load_urls()

    from rest_framework.settings import api_settings

    for name in ("DEFAULT_RENDERER_CLASSES", "DEFAULT_PARSER_CLASSES", "DEFAULT_AUTHENTICATION_CLASSES",
                 "DEFAULT_PERMISSION_CLASSES", "DEFAULT_PAGINATION_CLASS", "DEFAULT_FILTER_BACKENDS"):
        getattr(api_settings, name)

    _load_catalogues()
    templates = _compile(_project_templates())

    import ops.metrics  # noqa: F401 - the metrics middleware imports it on the first request

    rendered = _render_login_page()

    if not settings.DEBUG:
        from django.contrib.staticfiles.storage import staticfiles_storage

        if hasattr(staticfiles_storage, "load_manifest"):
            try:
                staticfiles_storage.url("css/app.css")
            except ValueError:  # collectstatic not run: the request will say so, not the boot
                logger.warning("static files manifest missing: run collectstatic")

    loaded = {"url_patterns": patterns, "templates": templates, "login_page": rendered,
              "ms": round((time.perf_counter() - started) * 1000)}
    logger.info("worker warmed up", extra=loaded)
    return loaded


def warm_up_worker() -> dict[str, int]:
    """The same for a Celery worker, at its start (ops/celery_signals.py, `worker_init`; a prefork
    pool's processes are forked after it and inherit the result): the URL tables an email's
    settings link is reversed from (importing the URLconf imports every view: 0.3 s), the
    translation catalogues, and the templates messages are rendered from (notifications/*.txt,
    the email frame). Without it the first reminder after a deploy or a worker restart waited
    for all of that. No database, no broker."""
    started = time.perf_counter()
    patterns = _load_urls()
    _load_catalogues()
    templates = _compile([*_project_templates("*.txt", "notifications"),
                          *_project_templates("*", "notifications/email")])
    import django.core.mail.message  # noqa: F401 - the email classes, imported on the first email

    loaded = {"url_patterns": patterns, "templates": templates, "ms": round((time.perf_counter() - started) * 1000)}
    logger.info("worker warmed up", extra=loaded)
    return loaded
