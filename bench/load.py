"""The load generator: N closed-loop clients posting transfers for a fixed time.

Run by bench.run in its own process (never in the server's):

    python -m bench.load SPEC.json RESULT.json

SPEC: {"url", "users": [[username, token], ...], "hot": index | null,
"clients", "warmup", "duration", "timeout", "seed", "path", and optionally
"urls" (several servers: client i uses urls[i % n]),
"amount_max" (default 100) and "retry" (the share of transfers sent a second
time with the same Idempotency-Key, as a client that lost the answer would)}. Each client is
a thread with one keep-alive HTTP/1.1 connection (http.client): it sends a
transfer, waits for the answer, sends the next. Requests are only sent to
127.0.0.1, and every loop is bounded by a deadline and a request cap.

RESULT: counts by outcome for the whole run, and for the measured window
(after warmup) the completed requests, the 201s and their latencies.
"""

import http.client
import json
import random
import sys
import threading
import time
import urllib.parse
import uuid

MAX_REQUESTS_PER_CLIENT = 1_000_000


def pick_pair(rng, n, hot):
    """(sender, recipient) indices. With a hot account, it is a party to half the transfers."""
    if hot is not None and rng.random() < 0.5:
        other = rng.randrange(n - 1)
        other += other >= hot
        return (hot, other) if rng.random() < 0.5 else (other, hot)
    while True:
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b and hot not in (a, b):
            return a, b


def classify(status, body, replayed=False):
    """'201', '201 replayed', '409 insufficient_funds', '503 unavailable', ... from a response."""
    if status == 201:
        return "201 replayed" if replayed else "201"
    try:
        code = json.loads(body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "?"
    return f"{status} {code}"


class Client(threading.Thread):
    def __init__(self, spec, index, start_barrier, t_measure, t_end):
        super().__init__(daemon=True, name=f"client-{index}")
        self.index = index
        self.spec = spec
        self.rng = random.Random(f"{spec['seed']}-{index}")
        self.start_barrier = start_barrier
        self.t_measure, self.t_end = t_measure, t_end
        self.counts = {}          # outcome -> count, whole run
        self.window_counts = {}   # outcome -> count, measured window
        self.latencies = []       # seconds, 201s completed in the window
        self.all_latencies = []   # seconds, every response completed in the window
        self.conn = None

    def _connect(self):
        # Several servers (one per process, as instances behind a balancer): client i uses urls[i % n].
        urls = self.spec.get("urls") or [self.spec["url"]]
        url = urllib.parse.urlsplit(urls[self.index % len(urls)])
        assert url.hostname == "127.0.0.1", "the benchmark only targets 127.0.0.1"
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=self.spec["timeout"])

    def _one(self, headers, body):
        """(outcome, seconds) of one request; network failures become outcomes too."""
        t0 = time.perf_counter()
        try:
            self.conn.request("POST", self.spec["path"], body=body, headers=headers)
            resp = self.conn.getresponse()
            data = resp.read()
            outcome = classify(resp.status, data, resp.getheader("Idempotent-Replayed") == "true")
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
        except TimeoutError:
            outcome = "timeout"
            self.conn.close()
        except (OSError, http.client.HTTPException) as exc:
            outcome = f"connection {type(exc).__name__}"
            self.conn.close()
        return outcome, time.perf_counter() - t0

    def run(self):
        users, hot = self.spec["users"], self.spec["hot"]
        self._connect()
        self.start_barrier.wait()
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if time.perf_counter() >= self.t_end[0]:
                break
            s, r = pick_pair(self.rng, len(users), hot)
            body = json.dumps({"to": users[r][0], "amount": self.rng.randint(1, self.spec.get("amount_max", 100))})
            headers = {"Content-Type": "application/json", "Authorization": f"Bearer {users[s][1]}",
                       "Idempotency-Key": uuid.uuid4().hex}
            for _attempt in range(2 if self.rng.random() < self.spec.get("retry", 0.0) else 1):
                self._record(*self._one(headers, body))
        self.conn.close()

    def _record(self, outcome, seconds):
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        done = time.perf_counter()
        if self.t_measure[0] <= done <= self.t_end[0]:
            self.window_counts[outcome] = self.window_counts.get(outcome, 0) + 1
            self.all_latencies.append(seconds)
            if outcome == "201":
                self.latencies.append(seconds)


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def _merge(dicts):
    total = {}
    for d in dicts:
        for k, v in d.items():
            total[k] = total.get(k, 0) + v
    return total


def run(spec):
    n = spec["clients"]
    # Deadlines are shared lists so that every client sees the same times.
    t_measure, t_end = [0.0], [0.0]
    barrier = threading.Barrier(n + 1)
    clients = [Client(spec, i, barrier, t_measure, t_end) for i in range(n)]
    for c in clients:
        c.start()
    cpu0 = time.process_time()
    now = time.perf_counter()
    t_measure[0], t_end[0] = now + spec["warmup"], now + spec["warmup"] + spec["duration"]
    barrier.wait(timeout=60)
    grace = spec["timeout"] + 5
    for c in clients:
        c.join(timeout=max(0.0, t_end[0] + grace - time.perf_counter()))
    stuck = sum(c.is_alive() for c in clients)
    latencies = sorted(x for c in clients for x in c.latencies)
    window = _merge(c.window_counts for c in clients)
    return {
        "clients": n,
        "duration": spec["duration"],
        "warmup": spec["warmup"],
        "counts": _merge(c.counts for c in clients),
        "window_counts": window,
        "ok_per_s": window.get("201", 0) / spec["duration"],
        "responses_per_s": sum(window.values()) / spec["duration"],
        "p50_ms": _ms(percentile(latencies, 50)),
        "p95_ms": _ms(percentile(latencies, 95)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "max_ms": _ms(latencies[-1] if latencies else None),
        "client_cpu_s": time.process_time() - cpu0,
        "stuck_clients": stuck,
    }


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 2)


def main(argv=None):
    spec_path, result_path = (argv or sys.argv[1:])[:2]
    with open(spec_path, encoding="utf-8") as fh:
        spec = json.load(fh)
    result = run(spec)
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
