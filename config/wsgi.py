"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from api.middleware import CharsetGuardApplication  # noqa: E402 (needs the settings)

# Django crashes building a request whose charset is no text encoding (base64, zlib...).
application = CharsetGuardApplication(django_application)
