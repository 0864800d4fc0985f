"""gunicorn's own error answers as RFC 9457 problem documents, not its HTML page.

gunicorn answers what it refuses before Django runs (a request line over
limit_request_line, too many or too large headers, a malformed request line or
chunk) with util.write_error, an HTML page. gunicorn.conf.py puts
`write_problem` in its place. The detail is fixed per status and never echoes
the request: gunicorn's message quotes the request line, which may hold free text.
"""

import json

from gunicorn import util

_DETAILS = {
    400: ("The request could not be read as HTTP.", "bad_request"),
    403: ("The request was refused before it reached the registry.", "permission_denied"),
    414: ("The request line is longer than 8,190 bytes; shorten the URL.", "uri_too_long"),
    417: ("The Expect header cannot be met.", "bad_request"),
    431: ("Too many header fields, or one longer than 8,190 bytes.", "too_large"),
    500: ("An unexpected error occurred; it has been logged.", "server_error"),
    501: ("The transfer coding is not supported.", "bad_request"),
}


def problem_bytes(status: int, reason: str) -> bytes:
    detail, code = _DETAILS.get(status, (reason, "bad_request"))
    problem = {"type": "about:blank", "title": reason, "status": status, "detail": detail}
    problem["code"] = code
    body = json.dumps(problem).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def write_problem(sock, status_int, reason, mesg):
    """Drop-in for gunicorn.util.write_error; `mesg` (which quotes the request) is not sent."""
    util.write_nonblock(sock, problem_bytes(int(status_int), reason))


def install() -> None:
    # gunicorn's workers call util.write_error by attribute, so this reaches every worker.
    util.write_error = write_problem
