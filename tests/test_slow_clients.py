"""Issue 21.4: slow clients hold connections, never the threads that run the app. The shipped
gunicorn configuration (server/gunicorn_conf.py) is started as a real server on loopback;
500 connections trickle header lines while /healthz must keep answering within 1 s.
Bounded: a few rounds of trickling, then every connection is closed."""

import socket
import time

import pytest
import requests
from conftest import SECRET
from gunicorn_server import GunicornServer, stack_env

SLOW_CONNECTIONS = 500
ROUNDS = 6            # header lines each slow client sends, one per round
ROUND_SECONDS = 1.0   # between lines: far longer than a request takes to read


@pytest.fixture(scope="module")
def server(stack):
    # The shipped thread counts (64 per worker) with 2 workers: 128 threads, fewer than the slow clients.
    server = GunicornServer(stack_env(stack, SECRET), workers=2, threads=64)
    yield server
    server.stop()


def _open_slow(port, count):
    conns = []
    for n in range(count):
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        conn.sendall(f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow-{n}: 0\r\n".encode())
        conns.append(conn)
    return conns


def test_healthz_answers_while_500_clients_trickle_headers(server):
    conns = []
    try:
        conns = _open_slow(server.port, SLOW_CONNECTIONS)
        answered = []
        for round_ in range(ROUNDS):
            for conn in conns:
                try:
                    conn.sendall(f"X-Round-{round_}: still-typing\r\n".encode())
                except OSError:
                    pass  # a server may close a client this slow: that is fine too
            answered.append(server.healthy())
            time.sleep(ROUND_SECONDS)
        assert all(answered), answered
    finally:
        for conn in conns:
            conn.close()
    assert server.healthy()


def test_requests_reach_the_app_whole(server):
    """What the asyncio worker hands the app: a chunked body de-chunked, percent-decoded paths,
    and a body over every route's limit refused before it is read."""
    chunks = iter([b'{"username": "nobody_here",', b' "password": "wrong-password"}'])
    login = requests.post(f"{server.url}/api/v1/auth/login", data=chunks, timeout=30,
                          headers={"Content-Type": "application/json"})
    assert login.status_code == 401 and login.json()["error"]["code"] == "invalid_credentials", login.text
    assert requests.get(f"{server.url}/api/v1/posts/abc%0A", timeout=30).status_code == 422
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as conn:
        conn.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000000000\r\n\r\n{")
        assert conn.recv(4096).startswith(b"HTTP/1.1 413")
