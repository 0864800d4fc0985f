"""gunicorn's settings for the registry, read by gunicorn from the working directory.

Request limits: gunicorn answers what breaks them itself, with an HTML page, before
Django runs, so they sit at or above what Django checks (which answers with RFC 9457
problem documents): a request line up to 8190 bytes (gunicorn's maximum) against
Django's MAX_URL_LENGTH of 8000 characters; 100 header fields of up to 8190 bytes.
Other settings (workers, bind, timeouts) come from the command line and from
GUNICORN_CMD_ARGS / WEB_CONCURRENCY as gunicorn reads them.
"""

limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
