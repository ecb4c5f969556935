"""Messages under contention: 16 senders into ONE conversation through 1, 2 and 4 server processes.

    .venv/bin/python -m bench.messages_load [--senders 16] [--per-sender 25] [--processes 1 2 4]

Each configuration gets a fresh project on one Firestore emulator and N
gunicorn servers (one worker each, so N processes, each with its own
per-conversation funnel); sender i talks to server i % N over HTTP. Prints
the time, messages/s, latency percentiles, statuses, and checks that seq is
1..total with no gap or duplicate. Compare bench/messages_naive.py (the same
load with one pessimistic transaction per message).
"""

import argparse
import collections
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.run import PASSWORD, Server, new_project, server_env
from devstack import emulator as harness

HIGH = "1000000/minute"


def run_config(emu, processes, senders, per_sender, log_dir):
    env = server_env(emu.host, new_project(f"msg{processes}"),
                     {"WEB_WORKERS": "1", "WEB_THREADS": str(senders), "MESSAGE_RATE_LIMIT": HIGH,
                      "SESSION_REVOCATION_WATCH": "false"})
    servers = [Server("server:create_app()", env, log_dir, f"msg{processes}-{i}") for i in range(processes)]
    try:
        users = []
        for name in (f"a{time.time_ns()}", f"b{time.time_ns()}"):
            resp = requests.post(f"{servers[0].url}/api/v1/auth/signup", json={"username": name, "password": PASSWORD},
                                 timeout=60)
            users.append(resp.json())
        conv = requests.post(f"{servers[0].url}/api/v1/conversations", json={"with": users[1]["user"]["username"]},
                             headers={"Authorization": f"Bearer {users[0]['token']}"}, timeout=60).json()
        conv_id = conv["conversation"]["id"]
        barrier = threading.Barrier(senders)

        def send_all(i):
            url = f"{servers[i % processes].url}/api/v1/conversations/{conv_id}/messages"
            results = []
            with requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {users[i % 2]['token']}"
                barrier.wait()
                for n in range(per_sender):
                    started = time.perf_counter()
                    resp = http.post(url, json={"body": f"{i}-{n}"}, timeout=120)
                    seq = resp.json()["message"]["seq"] if resp.status_code == 201 else None
                    results.append((resp.status_code, time.perf_counter() - started, seq))
            return results

        started = time.perf_counter()
        with ThreadPoolExecutor(senders) as pool:
            results = [r for rs in pool.map(send_all, range(senders)) for r in rs]
        elapsed = time.perf_counter() - started
        total = senders * per_sender
        statuses = collections.Counter(s for s, _l, _q in results)
        latencies = sorted(lat for _s, lat, _q in results)
        seqs = sorted(q for _s, _l, q in results if q is not None)
        print(f"{processes} process(es): {total} messages in {elapsed:.1f} s = {total / elapsed:.0f}/s; "
              f"p50 {1000 * latencies[len(latencies) // 2]:.0f} ms, "
              f"p99 {1000 * latencies[int(len(latencies) * 0.99) - 1]:.0f} ms, "
              f"max {1000 * latencies[-1]:.0f} ms; statuses {dict(statuses)}; "
              f"seq gap-free and unique: {seqs == list(range(1, total + 1))}", flush=True)
    finally:
        for server in servers:
            server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--per-sender", type=int, default=25)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    emu = harness.start(port=0)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-messages-") as log_dir:
            for processes in args.processes:
                run_config(emu, processes, args.senders, args.per_sender, log_dir)
    finally:
        emu.stop()


if __name__ == "__main__":
    main()
