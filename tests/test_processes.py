"""Guarantees that must hold across server processes, with real gunicorn processes:
rate limits counted once for all of them, logouts refused by all of them."""

import uuid

import pytest
import requests
from conftest import PASSWORD, SECRET, unique_name
from gunicorn_server import stack_env, start_servers, wait_for


@pytest.fixture(scope="module")
def two_servers(stack):
    env = stack_env(stack, SECRET, LOGIN_RATE_LIMIT="10/minute", LOGIN_IP_RATE_LIMIT="1000/minute",
                    SIGNUP_RATE_LIMIT="1000/minute", SESSION_CACHE_SECONDS="600",
                    RATELIMIT_KEY_PREFIX=f"procs-{uuid.uuid4().hex}")
    servers = start_servers(2, env)
    yield servers
    for server in servers:
        server.stop()


def signup(server):
    name = unique_name()
    resp = requests.post(f"{server.url}/api/v1/auth/signup", json={"username": name, "password": PASSWORD},
                         timeout=30)
    assert resp.status_code == 201, resp.text
    return name, resp.json()["token"]


def test_login_limit_holds_whichever_process_answers(two_servers):
    first, second = two_servers
    name, _token = signup(first)
    statuses = []
    for attempt in range(10):
        server = two_servers[attempt % 2]
        statuses.append(requests.post(f"{server.url}/api/v1/auth/login",
                                      json={"username": name, "password": "wrong-password"}, timeout=30).status_code)
    assert statuses == [401] * 10
    for server in (first, second):  # the 11th attempt and later, on either process
        resp = requests.post(f"{server.url}/api/v1/auth/login", json={"username": name, "password": PASSWORD},
                             timeout=30)
        assert resp.status_code == 429, resp.text
        assert resp.json()["error"]["code"] == "rate_limited"


def test_logout_in_one_process_is_refused_by_the_other(two_servers):
    first, second = two_servers
    _name, token = signup(first)
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{second.url}/api/v1/me", headers=headers, timeout=30).status_code == 200  # cached
    assert requests.post(f"{first.url}/api/v1/auth/logout", headers=headers, timeout=30).status_code == 204
    # Far below the 600 s cache window: only the listener can bring the logout over in time.
    assert wait_for(lambda: requests.get(f"{second.url}/api/v1/me", headers=headers, timeout=30).status_code == 401,
                    timeout=30)
