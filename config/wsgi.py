import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# gunicorn loads this module in each worker before the worker accepts connections: do the
# first-use work (URLconf and views, catalogues, templates, static manifest) now, not on the
# first request after a deploy or a worker recycle (ops/warmup.py). WEB_WARM_UP=0 turns it off.
if os.environ.get("WEB_WARM_UP", "1") != "0":
    from ops.warmup import warm_up

    warm_up()
