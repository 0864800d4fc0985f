"""gunicorn's settings for the registry, read by gunicorn from the working directory.

Request limits: gunicorn answers what breaks them itself, before Django runs, so
they sit at or above what Django checks: a request line up to 8190 bytes
(gunicorn's maximum) against Django's MAX_URL_LENGTH of 8000 characters; 100
header fields of up to 8190 bytes. Its answers are problem documents like
Django's (config/gunicorn_errors.py), not its HTML page.

The access log records the path without its query string and without the
Referer: filters and searches may hold free text, and redaction cannot reach a
log file (docs/deployment.md, "What redaction reaches").

Other settings (workers, bind, timeouts) come from the command line and from
GUNICORN_CMD_ARGS / WEB_CONCURRENCY as gunicorn reads them.
"""

from config import gunicorn_errors

limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# %(U)s is the path alone; the default %(r)s is the request line with the query string.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'

gunicorn_errors.install()
