"""gunicorn's own refusals are problem documents (issue 23, point 8), tried on a real gunicorn.

Over-long request lines and headers never reach Django: gunicorn answers them
itself, and used to with an HTML page. gunicorn.conf.py installs
config/gunicorn_errors.py; this starts gunicorn with that file, as the Dockerfile
and compose do, and sends what it refuses.
"""

import json
import os
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings

PROBLEM = "application/problem+json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def gunicorn_port():
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/none",  # these answers need none
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail(server.stderr.read().decode()[-2000:])
    yield port
    server.terminate()
    server.wait(10)


def raw_request(port: int, request: bytes) -> tuple[int, dict, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"GET /api/v1/cases/?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-%d: 1\r\n" % n for n in range(120))
            + b"\r\n",
            431,
        ),
        (b"GET /\x01secret-text HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ],
)
def test_gunicorns_refusals_are_problem_documents(gunicorn_port, request_bytes, status):
    answered, headers, body = raw_request(gunicorn_port, request_bytes)
    assert answered == status, body[:300]
    assert headers["Content-Type"] == PROBLEM
    problem = json.loads(body)
    assert problem["status"] == status and problem["code"]
    assert b"secret-text" not in body and b"aaaa" not in body  # the request is never echoed
