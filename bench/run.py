"""The benchmark: ours against the naive design, the HTTP ceiling and the raw emulator.

    .venv/bin/python -m bench.run [--duration 20] [--clients 32] [--quick] [--soak 300]

Starts one Firestore emulator (server.emulator), then for each configuration
a fresh project id and a server under gunicorn with the production settings
(server/gunicorn_conf.py). It signs up users, funds them with deposits,
restarts the server (so every measured process starts cold), drives
transfers over HTTP from a separate process (bench/load.py) for a fixed
time, stops the server and checks the ledger's invariants with the Admin
SDK. Exits 1 when any invariant is broken or our server answered an error.
"""

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import requests

from devstack import emulator as harness
from devstack import processes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "bench-secret-key-with-at-least-32-bytes-of-entropy"
PASSWORD = "bench-password-1"
HIGH_LIMIT = "1000000/minute"
USER_FUNDS = 1_000_000  # cents each; transfers are 1-100 cents
HOT_FUNDS = 100_000_000
EXPECTED = {"201", "201 replayed", "409 insufficient_funds"}  # business outcomes; anything else is an error
# The bank workload of the concurrency tests: 6 accounts, 16 clients, a hot account in half the
# transfers, amounts up to 400 against 5,000 each (so refusals happen), 15% sent twice with one key.
BANK = {"users": 6, "clients": 16, "funds": 5_000, "amount_max": 400, "retry": 0.15}


# --- processes ------------------------------------------------------------------


def _proc_children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Server:
    """One gunicorn (master + workers) in its own process group (also the tests' multi-process fixture)."""

    def __init__(self, app, env, log_dir, name, workers=1):
        self.port = processes.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.log = open(self.log_path, "ab")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:server.gunicorn_conf", app],
            env=dict(env, BIND=f"127.0.0.1:{self.port}", WEB_WORKERS=str(workers)), cwd=ROOT, stdout=self.log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.expected_workers = workers
        self.urls, self.log_paths = [self.url], [self.log_path]
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                    if resp.status == 200 and len(self.workers()) >= self.expected_workers:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the server did not start; see {self.log_path}")

    def workers(self):
        return _proc_children(self.process.pid)

    def rss(self):
        return sum(rss_mib(p) or 0 for p in self.workers())

    def cpu(self):
        return sum(cpu_seconds(p) or 0 for p in self.workers())

    def kill(self):
        """kill -9 of the whole server (master and workers), as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        # Workers whose master died first would outlive it in the group: never leave one behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


class ServerGroup:
    """N servers of one worker each, on their own ports: N processes as N instances behind a balancer.

    (One gunicorn with N workers shares one port, and with a few dozen keep-alive
    connections the kernel may hand nearly all of them to one worker; the load
    client spreads its clients over these ports evenly instead.)
    """

    def __init__(self, app, env, log_dir, name, count):
        self.members = []
        try:
            for i in range(count):
                self.members.append(Server(app, env, log_dir, name if count == 1 else f"{name}-{i}"))
        except BaseException:
            self.stop()
            raise
        self.urls = [m.url for m in self.members]
        self.url = self.urls[0]
        self.log_paths = [m.log_path for m in self.members]

    def workers(self):
        return [w for m in self.members for w in m.workers()]

    def cpu(self):
        return sum(m.cpu() for m in self.members)

    def rss(self):
        return sum(m.rss() for m in self.members)

    def stop(self):
        for m in self.members:
            m.stop()


# --- setup over HTTP ------------------------------------------------------------


_local = threading.local()


def api(method, url, token=None, key=None, **kwargs):
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
        session.trust_env = False  # never a proxy: 127.0.0.1 only
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    return session.request(method, url, headers=headers, timeout=60, **kwargs)


def _retrying(call, attempts=10):
    """Setup requests are retried (bounded) on 503, with the same Idempotency-Key."""
    for attempt in range(attempts):
        resp = call()
        if resp.status_code != 503:
            return resp
        time.sleep(0.1 * 2 ** attempt)
    return resp


def setup_users(server, env, n_users, hot, log, funds=None):
    """Signs up n users, creates an admin, deposits into every user. Returns [[name, token]]."""
    prefix = f"b{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}_{i:05d}" for i in range(n_users)]
    t0 = time.perf_counter()

    def signup(name):
        resp = _retrying(lambda: api("POST", f"{server.url}/api/v1/auth/signup",
                                     json={"username": name, "password": PASSWORD}))
        if resp.status_code != 201:
            raise RuntimeError(f"signup {name}: {resp.status_code} {resp.text}")
        return [name, resp.json()["token"]]

    with ThreadPoolExecutor(8) as pool:
        users = list(pool.map(signup, names))
    admin = f"{prefix}_admin"
    subprocess.run([sys.executable, "-m", "flask", "--app", "server", "create-admin", admin],
                   env=dict(env, ADMIN_PASSWORD=PASSWORD), cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    resp = api("POST", f"{server.url}/api/v1/auth/login", json={"username": admin, "password": PASSWORD})
    resp.raise_for_status()
    admin_token = resp.json()["token"]

    def deposit(i):
        key = f"fund-{names[i]}"
        amount = funds or (HOT_FUNDS if i == hot else USER_FUNDS)
        resp = _retrying(lambda: api("POST", f"{server.url}/api/v1/admin/deposits", admin_token, key,
                                     json={"to": names[i], "amount": amount}))
        if resp.status_code != 201:
            raise RuntimeError(f"deposit {names[i]}: {resp.status_code} {resp.text}")
        return amount

    with ThreadPoolExecutor(16) as pool:
        issued = sum(pool.map(deposit, range(n_users)))
    log(f"  setup: {n_users} users signed up and funded in {time.perf_counter() - t0:.1f}s")
    return users, issued


# --- the load, in its own process -------------------------------------------------


def drive(url, users, hot, args, duration, path="/api/v1/transfers", on_window=None, **extra):
    """Runs bench.load in a subprocess; on_window(phase) is called at window start and end."""
    spec = {"url": url, "users": users, "hot": hot, "clients": args.clients, "warmup": args.warmup,
            "duration": duration, "timeout": args.timeout, "seed": args.seed, "path": path, **extra}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        spec_path, result_path = os.path.join(tmp, "spec.json"), os.path.join(tmp, "result.json")
        with open(spec_path, "w", encoding="utf-8") as fh:
            json.dump(spec, fh)
        proc = subprocess.Popen([sys.executable, "-m", "bench.load", spec_path, result_path], cwd=ROOT)
        t0 = time.perf_counter()
        if on_window:
            time.sleep(args.warmup + 0.5)  # the client needs a moment to start its threads
            on_window("start")
            end = t0 + 0.5 + args.warmup + duration
            while time.perf_counter() < end:
                time.sleep(min(1.0, max(0.0, end - time.perf_counter())))
                on_window("tick")
            on_window("end")
        proc.wait(timeout=args.warmup + duration + args.timeout + 120)
        if proc.returncode != 0:
            raise RuntimeError(f"the load generator failed with status {proc.returncode}")
        with open(result_path, encoding="utf-8") as fh:
            return json.load(fh)


def prime_writer(server, users, project, settle_seconds=1.0):
    """One ledger operation before the clients connect, refused (more than anyone holds: it moves
    nothing and the ledger check does not see it), so that a process holds the writer's lease
    and, with LEDGER_WRITER_ALONE_WORKERS workers, has given HTTP up before the load starts, as
    in a deployment that has been up a while. Else the writer's worker gives HTTP up under the
    first burst, and with WEB_REUSE_PORT the kernel resets the connections queued on its socket
    (server/gunicorn_conf.py)."""
    (_payer, token), (payee, _token) = users[0], users[1]
    resp = _retrying(lambda: api("POST", f"{server.url}/api/v1/transfers", token, key=uuid.uuid4().hex,
                                 json={"to": payee, "amount": 2 * max(USER_FUNDS, HOT_FUNDS, BANK["funds"])}))
    if resp.status_code != 409:
        raise RuntimeError(f"priming the writer: {resp.status_code} {resp.text}")
    if ledger_writer_pid(project) is not None:
        time.sleep(settle_seconds)  # the writer's worker looks at its role every ROLE_POLL_SECONDS


def ledger_writer_pid(project):
    """The pid of the process holding the ledger writer's lease (its token says), or None."""
    url = os.environ.get("RATELIMIT_STORAGE_URI", "")
    if not url.startswith("redis"):
        return None
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        token = client.get(f"ledger-writer:{project}:lease")
    except redis.RedisError:
        return None
    finally:
        client.close()
    return int(token.decode().split(":")[-2]) if token else None  # the token: host:pid:random


class Sampler:
    """CPU of the server worker(s) (all, and each), the emulator and RSS of the server over the
    measured window. Each process's own CPU shows whether one of them (the ledger writer, under
    one GIL) is the bound while the others idle."""

    def __init__(self, server, emulator_pid, rss_every, redis_pid=None, project=None):
        self.server, self.emulator_pid, self.rss_every = server, emulator_pid, rss_every
        self.redis_pid, self.project = redis_pid, project
        self.samples, self.start = [], None
        self._last_rss = 0.0
        self.per_process = {}  # pid -> CPU seconds at the window's start
        self.writer_pid = None

    def _each(self):
        return {pid: cpu_seconds(pid) or 0.0 for pid in self.server.workers()}

    def __call__(self, phase):
        now = time.perf_counter()
        point = (now, self.server.cpu(), cpu_seconds(self.emulator_pid) or 0.0, self.server.rss(),
                 cpu_seconds(self.redis_pid) or 0.0 if self.redis_pid else 0.0)
        if phase == "start":
            self.per_process = self._each()
            self.start = point
            self.samples.append((0.0, point[3]))
            self._last_rss = now
        elif phase == "end":
            self.end = point
            ended = self._each()
            self.per_process = {pid: ended[pid] - cpu for pid, cpu in self.per_process.items() if pid in ended}
            self.writer_pid = ledger_writer_pid(self.project) if self.project else None
            self.samples.append((round(now - self.start[0], 1), point[3]))
        elif now - self._last_rss >= self.rss_every:
            self._last_rss = now
            self.samples.append((round(now - self.start[0], 1), point[3]))

    def report(self):
        wall = self.end[0] - self.start[0]
        return {"server_cpu_pct": round(100 * (self.end[1] - self.start[1]) / wall),
                "server_cpu_s": self.end[1] - self.start[1],
                "emulator_cpu_pct": round(100 * (self.end[2] - self.start[2]) / wall),
                "redis_cpu_s": self.end[4] - self.start[4],
                # Each server process's CPU over the window, busiest first; and the ledger writer's.
                "process_cpu_pct": sorted((round(100 * c / wall) for c in self.per_process.values()), reverse=True),
                "writer_cpu_pct": (round(100 * self.per_process[self.writer_pid] / wall)
                                   if self.writer_pid in self.per_process else None),
                "rss_start_mib": round(self.start[3], 1), "rss_end_mib": round(self.end[3], 1),
                "rss_samples": [(t, round(r, 1)) for t, r in self.samples]}


# --- the ledger's invariants, read with the Admin SDK ---------------------------


def check_ledger(project, transfers_ok, deposits_ok, issued, ambiguous=0):
    """Problems found in the project's ledger (empty: all invariants hold).

    transfers_ok / deposits_ok: the 201s the clients saw; `ambiguous`: requests
    whose outcome the client could not know (timeouts, 5xx), which may or may
    not have committed.
    """
    from google.cloud import firestore

    client = firestore.Client(project=project)
    try:
        accounts = {s.id: s.to_dict() for s in client.collection("accounts").stream()}
        sums, counts = defaultdict(int), Counter()
        for snap in client.collection("postings").select(["account_id", "amount"]).stream():
            doc = snap.to_dict()
            sums[doc["account_id"]] += doc["amount"]
            counts[doc["account_id"]] += 1
        kinds = Counter(s.get("kind") for s in client.collection("transfers").select(["kind"]).stream())
    finally:
        client.close()
    problems = []
    total = sum(a["balance"] for a in accounts.values())
    if total != 0:
        problems.append(f"balances sum to {total}, not 0")
    treasury = accounts.get("treasury", {}).get("balance")
    if treasury != -issued:
        problems.append(f"treasury balance {treasury}, expected {-issued}")
    for account_id, doc in accounts.items():
        if doc.get("kind") != "treasury" and doc["balance"] < 0:
            problems.append(f"account {account_id} balance {doc['balance']} < 0")
        if doc["balance"] != sums.get(account_id, 0) or doc["posting_count"] != counts.get(account_id, 0):
            problems.append(f"account {account_id}: balance {doc['balance']} / {doc['posting_count']} postings,"
                            f" postings say {sums.get(account_id, 0)} / {counts.get(account_id, 0)}")
    if set(sums) - set(accounts):
        problems.append(f"postings of unknown accounts: {sorted(set(sums) - set(accounts))[:5]}")
    n_postings, n_transfers = sum(counts.values()), sum(kinds.values())
    if n_postings != 2 * n_transfers:
        problems.append(f"{n_postings} postings for {n_transfers} transfers")
    if kinds.get("deposit", 0) != deposits_ok:
        problems.append(f"{kinds.get('deposit', 0)} deposits posted, {deposits_ok} answered 201")
    posted = kinds.get("transfer", 0)
    if not transfers_ok <= posted <= transfers_ok + ambiguous:
        problems.append(f"{posted} transfers posted, {transfers_ok} answered 201 (+{ambiguous} unknown)")
    return {"accounts": len(accounts), "postings": n_postings, "transfers_posted": posted,
            "problems": problems}


# --- configurations ------------------------------------------------------------------


def server_env(emulator_host, project, extra=()):
    env = dict(os.environ)
    env.update({
        "FIRESTORE_EMULATOR_HOST": emulator_host,
        # The rate limits' redis, and so the ledger writer's lease and channel (one writer for all).
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "GOOGLE_CLOUD_PROJECT": project,
        "SECRET_KEY": SECRET,
        "BCRYPT_ROUNDS": "4",  # only so that creating 1,000 users takes seconds
        "LOGIN_RATE_LIMIT": HIGH_LIMIT,
        "LOGIN_IP_RATE_LIMIT": HIGH_LIMIT,
        "SIGNUP_RATE_LIMIT": HIGH_LIMIT,
        "NO_PROXY": "127.0.0.1,localhost",
    })
    env.update(extra)
    return env


def new_project(name):
    return f"demo-bench-{name}-{uuid.uuid4().hex[:6]}"


def _errors(counts):
    return {k: v for k, v in counts.items() if k not in EXPECTED}


def measured_server(args, env, log_dir, name, workers):
    """N processes as N instances of one worker (the default), or as one instance of N workers
    (--topology workers: the writer's worker then serves no HTTP from LEDGER_WRITER_ALONE_WORKERS)."""
    if args.topology == "workers":  # as measured in RESULTS.md: each worker its own socket (unless --env says)
        return Server("server:create_app()", {"WEB_REUSE_PORT": "true", **env}, log_dir, name, workers=workers)
    return ServerGroup("server:create_app()", env, log_dir, name, workers)


def run_http_config(name, mix, emu, args, log, mode_env, duration, n_users, log_dir, workers=1):
    """Setup with the default server, then the measured server with mode_env, then the checks."""
    project = new_project(name)
    env = server_env(emu.host, project)
    bank = mix == "bank"
    hot = 0 if mix in ("hot", "bank") else None
    n_users = BANK["users"] if bank else n_users
    log(f"[{name}] project {project}, {workers} server process(es)")
    server = Server("server:create_app()", env, log_dir, f"{name}-setup", workers=min(2, os.cpu_count() or 1))
    try:
        users, issued = setup_users(server, env, n_users, hot, log, funds=BANK["funds"] if bank else None)
    finally:
        server.stop()
    server = measured_server(args, dict(env, **mode_env), log_dir, name, workers)
    sampler = Sampler(server, emu.process.pid if emu.process else None, args.rss_every, REDIS["pid"],
                      project=project)
    profiler = start_profiler(server, args, name, duration, project)
    prime_writer(server, users, project)
    load = {"amount_max": BANK["amount_max"], "retry": BANK["retry"]} if bank else {}
    run_args = argparse.Namespace(**dict(vars(args), clients=BANK["clients"])) if bank else args
    try:
        result = drive(server.url, users, hot, run_args, duration, on_window=sampler, urls=server.urls, **load)
    finally:
        if profiler:
            profiler.join(timeout=args.warmup + duration + 60)
        server.stop()
    result.update(sampler.report())
    counts = result["counts"]
    errors = _errors(counts)
    result["ledger"] = check_ledger(project, counts.get("201", 0), n_users, issued,
                                    ambiguous=sum(errors.values()))
    result.update(name=name, mix=mix, errors=errors, log=server.log_paths, processes=workers,
                  writer=writer_stats(server.log_paths))
    window_ok = result["window_counts"].get("201", 0)
    if window_ok:
        result["cpu_ms_per_transfer"] = round(1000 * result["server_cpu_s"] / window_ok, 2)
        result["redis_cpu_ms_per_transfer"] = round(1000 * result["redis_cpu_s"] / window_ok, 3)
    log(f"  {summary(result)}")
    if result["writer"]:
        log(f"  writer: {json.dumps(result['writer'], sort_keys=True)}")
    return result


def writer_stats(log_paths):
    """The ledger writers' counters (one JSON line per worker at shutdown), summed, with ratios."""
    total = Counter()
    for log_path in log_paths:
        with open(log_path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if "ledger writer: " in line:
                    with contextlib.suppress(ValueError, AttributeError):
                        if line.startswith("{"):  # LOG_FORMAT=json: the counters are the record's message
                            line = json.loads(line)["message"]
                        counts = json.loads(line.split("ledger writer: ", 1)[1])
                        total.update(counts)
                        total["committing_processes"] += bool(counts.get("commits"))
    if not total.get("operations"):
        return None
    ops, rounds = total["operations"], max(1, total["rounds"])
    return {**total, "ops_per_commit": round(ops / max(1, total["commits"]), 1),
            "conflicts_per_commit": round(total["conflicts"] / max(1, total["commits"] + total["failed_commits"]), 3),
            "retries_per_op": round(total["retried_operations"] / ops, 3),
            "reads_per_op": round(total["reads"] / ops, 2), "writes_per_op": round(total["writes"] / ops, 2),
            "ms_per_round": round(1000 * total["round_seconds"] / rounds, 1),
            # Time an operation waited in the writer's queue before its first round; and, handed
            # over from another process, in the redis channel before the writer took it.
            "queue_wait_ms": round(1000 * total["queue_wait_seconds"] / ops, 2),
            "channel_wait_ms": round(1000 * total["channel_wait_seconds"] / max(1, total["served"]), 2),
            "forwarded_share": round(total["served"] / ops, 2),
            "committing_processes": total["committing_processes"]}


def start_profiler(server, args, name, duration, project=None):
    """py-spy over the measured window (--profile DIR), as collapsed stacks: of the ledger writer's
    process when there is one (it does every commit), else of the first worker; with several
    processes also of one that is not the writer (NAME-http.txt: a request's side of a hand-over)."""
    if not args.profile or name.startswith("naive"):
        return None
    os.makedirs(args.profile, exist_ok=True)
    out = os.path.join(args.profile, f"{name}.txt")
    # gil: where the CPU (the GIL) goes; wall: every thread, waiting included.
    flags = ["--gil"] if args.profile_mode == "gil" else ["--idle", "--threads"]
    spy = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy") or "py-spy"

    def record():
        time.sleep(args.warmup + 0.5)  # the writer is known once the load has started
        workers = server.workers()
        pid = (ledger_writer_pid(project) if project else None) or workers[0]
        targets = [(pid, out)] + [(other, out[:-len(".txt")] + "-http.txt") for other in workers if other != pid][:1]
        spies = [subprocess.Popen([spy, "record", "--format", "raw", "--rate", "200", *flags, "--nonblocking",
                                   "-d", str(int(duration)), "-o", path, "-p", str(target)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for target, path in targets]
        for spy_process in spies:
            spy_process.wait()

    thread = threading.Thread(target=record, name="profiler", daemon=True)
    thread.start()
    return thread


def run_minimal(args, log, log_dir, n_users):
    env = dict(os.environ, NO_PROXY="127.0.0.1,localhost")
    workers = len(os.sched_getaffinity(0))  # the default of our gunicorn settings
    server = Server("bench.minimal_app:create_app()", env, log_dir, "minimal", workers=workers)
    users = [[f"m{i:05d}", "no-token"] for i in range(n_users)]
    sampler = Sampler(server, None, args.rss_every)
    try:
        result = drive(server.url, users, None, args, args.duration, on_window=sampler)
    finally:
        server.stop()
    result.update(sampler.report())
    result.update(name="minimal Flask (no datastore)", mix="uniform", errors=_errors(result["counts"]), ledger=None,
                  processes=workers)
    log(f"  {summary(result)}")
    return result


def bench_app(emulator_host, project, **config):
    """The server's app (create_app) for measurements below HTTP, through the ledger's documented
    bench hook (server/ledger/bench.py); call app.extensions["shutdown"]() when done."""
    from server import create_app

    return create_app({"PROJECT_ID": project, "FIRESTORE_EMULATOR_HOST": emulator_host, "SECRET_KEY": SECRET,
                       **config})


def run_raw(emu, args, log, n_users):
    """Group commit without HTTP: the optimistic committer from one thread, batches of args.raw_batch."""
    project = new_project("raw")
    app = bench_app(emu.host, project)
    hook = app.extensions["ledger"].bench_hook()
    committer = hook.committer()
    ids = [f"raw{i:05d}" for i in range(n_users)]
    rng = random.Random(args.seed)

    try:
        hook.seed_accounts(ids)
        for start in range(0, n_users, args.raw_batch):
            committer.run([hook.operation("deposit", "bench-admin", hook.TREASURY_ID, a, USER_FUNDS, role="admin")
                           for a in ids[start:start + args.raw_batch]])
        ok = batches = failed = 0
        seconds = []
        t_end = time.perf_counter() + args.raw_duration
        while time.perf_counter() < t_end and batches < 100_000:
            ops = []
            for _ in range(args.raw_batch):
                a, b = rng.sample(ids, 2)
                ops.append(hook.operation("transfer", a, a, b, rng.randint(1, 100)))
            t0 = time.perf_counter()
            try:
                outcomes = committer.run(ops)
            except Exception as exc:  # counted, never retried: this measures the emulator
                failed += 1
                log(f"  raw batch failed: {exc!r}")
                continue
            seconds.append(time.perf_counter() - t0)
            batches += 1
            ok += sum(o is not None and o.status == 201 for o in outcomes)
        elapsed = args.raw_duration
    finally:
        app.extensions["shutdown"]()
    seconds.sort()
    result = {"name": f"raw optimistic group commit ({args.raw_batch}/batch, no HTTP)", "mix": "uniform",
              "clients": 1, "ok_per_s": ok / elapsed, "errors": {"failed batches": failed} if failed else {},
              "counts": {"201": ok}, "window_counts": {"201": ok}, "batches": batches,
              "p50_ms": _ms(_pct(seconds, 50)), "p95_ms": _ms(_pct(seconds, 95)), "p99_ms": _ms(_pct(seconds, 99)),
              "latency_of": "batch", "processes": 1,
              "writer": {"ops_per_commit": args.raw_batch, "reads_per_op": round(hook.counts["reads"] / max(1, ok), 2),
                         "writes_per_op": round(hook.counts["writes"] / max(1, ok), 2),
                         "conflicts_per_commit": committer.stats["conflicts"]}}
    result["ledger"] = check_ledger(project, ok, n_users, n_users * USER_FUNDS)
    log(f"  {summary(result)} ({batches} batches)")
    return result


def _pct(sorted_values, q):
    from bench.load import percentile

    return percentile(sorted_values, q)


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 1)


def summary(r):
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items())) or "none"
    ledger = r.get("ledger")
    inv = "n/a" if ledger is None else ("ok" if not ledger["problems"] else "; ".join(ledger["problems"][:3]))
    return (f"{r['name']} [{r['mix']}]: {r['ok_per_s']:.0f}/s p50 {r['p50_ms']} p95 {r['p95_ms']} "
            f"p99 {r['p99_ms']} ms, errors {errors}, invariants {inv}"
            + (f", CPU {r['cpu_ms_per_transfer']} ms/transfer" if "cpu_ms_per_transfer" in r else "")
            + (f", writer process {r['writer_cpu_pct']}% CPU (each: {r['process_cpu_pct']})"
               if r.get("writer_cpu_pct") is not None else ""))


# --- the report ------------------------------------------------------------------------


def machine():
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        models = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
    with open("/proc/meminfo", encoding="ascii") as fh:
        mem_kib = int(fh.readline().split()[1])
    return {"nproc": os.cpu_count(), "cpu": models[0] if models else platform.processor(),
            "memory_gib": round(mem_kib / 1024 ** 2, 1), "python": platform.python_version(),
            "load_before": os.getloadavg()}


def _ref(results, mix):
    """Our 1-process result for a mix: what every other row of that mix is compared with."""
    return next((r for r in results if r.get("role") == "ours" and r["mix"] == mix and r.get("processes") == 1),
                None)


def table(results):
    rows = ["| configuration | processes | mix | clients | transfers/s | p50 ms | p95 ms | p99 ms "
            "| 409 insufficient_funds | errors (5xx, timeouts, other) | invariants | server CPU % | emulator CPU % "
            "| client CPU % | server RSS MiB start→end | ratio to ours, 1 process |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        ref = _ref(results, r["mix"])
        ratio = "1" if r is ref else (f"{r['ok_per_s'] / ref['ok_per_s']:.3g}×" if ref and ref["ok_per_s"] else "–")
        ledger = r.get("ledger")
        inv = "–" if ledger is None else ("ok" if not ledger["problems"] else
                                          f"**{len(ledger['problems'])} broken**")
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items())) or "0"
        rss = f"{r['rss_start_mib']}→{r['rss_end_mib']}" if "rss_start_mib" in r else "–"
        client_cpu = round(100 * r["client_cpu_s"] / (r["warmup"] + r["duration"])) if "client_cpu_s" in r else "–"
        rows.append(f"| {r['name']} | {r.get('processes', '–')} | {r['mix']} | {r['clients']} | {r['ok_per_s']:.0f} "
                    f"| {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} "
                    f"| {r['counts'].get('409 insufficient_funds', 0)} | {errors} "
                    f"| {inv} | {r.get('server_cpu_pct', '–')} | {r.get('emulator_cpu_pct', '–')} | {client_cpu} "
                    f"| {rss} | {ratio} |")
    return "\n".join(rows)


def median_round(rounds):
    """Of one configuration's rounds, the one of median server CPU per transfer (the lower of the
    two middle ones), carrying every round's errors and broken invariants and each round's figures."""
    ordered = sorted(rounds, key=lambda r: r.get("cpu_ms_per_transfer") or float("inf"))
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    errors, problems = Counter(), []
    for r in rounds:
        errors.update(r["errors"])
        problems += (r.get("ledger") or {}).get("problems", [])
    chosen["errors"] = dict(errors)
    if chosen.get("ledger") is not None:
        chosen["ledger"] = dict(chosen["ledger"], problems=problems)
    chosen["rounds"] = [{key: r.get(key) for key in ("round", "ok_per_s", "p99_ms", "cpu_ms_per_transfer")}
                        for r in rounds]
    return chosen


def rounds_lines(results):
    """Every round behind a reported row (--rounds), so the spread is in the report."""
    lines = []
    for r in results:
        if len(r.get("rounds", [])) > 1:
            each = "; ".join(f"round {x['round']}: {x['ok_per_s']:.0f}/s, {x['cpu_ms_per_transfer']} ms"
                             for x in r["rounds"])
            lines.append(f"- {r['mix']}, {r['processes']} process(es), reported round {r['round']}: {each}")
    return ("Rounds (transfers/s, server CPU ms per transfer):\n" + "\n".join(lines)) if lines else ""


def _or_dash(value):
    return "–" if value is None else value


def _busiest_other(r):
    """The busiest server process's CPU % other than the writer's (the first of them, if no writer)."""
    each = list(r.get("process_cpu_pct") or [])
    if r.get("writer_cpu_pct") in each:
        each.remove(r["writer_cpu_pct"])
    return each[0] if each else None


def cost_table(results):
    """The writers' counters: batching, conflicts, CPU and Firestore documents per operation."""
    rows = ["| configuration | processes | mix | operations per commit | conflicts per commit attempt "
            "| retries per operation | split commits | server CPU ms per transfer (every process) "
            "| redis CPU ms per transfer | document reads per operation "
            "| document writes per operation | ms per round | writer queue wait ms | channel wait ms "
            "| share handed over | processes that committed | writer process CPU % | busiest other process CPU % |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        w = r.get("writer")
        if not w:
            continue
        rows.append(f"| {r['name']} | {r.get('processes', '–')} | {r['mix']} | {w.get('ops_per_commit', '–')} "
                    f"| {w.get('conflicts_per_commit', '–')} | {w.get('retries_per_op', '–')} "
                    f"| {w.get('split_commits', 0)} | {r.get('cpu_ms_per_transfer', '–')} "
                    f"| {r.get('redis_cpu_ms_per_transfer', '–')} "
                    f"| {w.get('reads_per_op', '–')} | {w.get('writes_per_op', '–')} | {w.get('ms_per_round', '–')} "
                    f"| {w.get('queue_wait_ms', '–')} | {w.get('channel_wait_ms', '–')} "
                    f"| {w.get('forwarded_share', '–')} | {w.get('committing_processes', '–')} "
                    f"| {_or_dash(r.get('writer_cpu_pct'))} | {_or_dash(_busiest_other(r))} |")
    return "\n".join(rows)


def targets(results, soak_growth_pct=10):
    lines = []

    def line(ok, text):
        lines.append(f"- [{'x' if ok else ' '}] {text}")

    def clean(r):
        return not r["errors"] and not (r.get("ledger") or {}).get("problems")

    ours = [r for r in results if r.get("role") == "ours"]
    for r in ours:
        ref = _ref(results, r["mix"])
        if r is ref or not ref or not ref["ok_per_s"]:
            continue
        need = 0.8 if r["mix"] == "bank" else 1.0
        ratio = r["ok_per_s"] / ref["ok_per_s"]
        line(ratio >= need and clean(r), f"{r['mix']}, {r['processes']} processes: {r['ok_per_s']:.0f}/s = "
             f"{ratio:.2f}× 1 process ({ref['ok_per_s']:.0f}/s), errors {sum(r['errors'].values())}, "
             f"invariant violations {len((r.get('ledger') or {}).get('problems', []))} (target ≥ {need}×, 0, 0)")
    for r in ours:
        if r is _ref(results, r["mix"]):
            line(clean(r), f"{r['mix']}, 1 process: errors {sum(r['errors'].values())}, invariant violations "
                           f"{len((r.get('ledger') or {}).get('problems', []))} (0, 0)")
    uniform = [r for r in ours if r["mix"] == "uniform"]
    if uniform:
        best = max(uniform, key=lambda r: r["ok_per_s"])
        line(best["ok_per_s"] >= 1000 and (best["p99_ms"] or 1e9) < 200,
             f"best uniform: {best['ok_per_s']:.0f}/s with {best['processes']} process(es), p99 {best['p99_ms']} ms "
             "(target ≥ 1,000/s, p99 < 200 ms)")
    hot, naive_hot = _ref(results, "hot"), next((r for r in results if r.get("role") == "naive"
                                                 and r["mix"] == "hot"), None)
    if hot and naive_hot:
        ratio = hot["ok_per_s"] / naive_hot["ok_per_s"] if naive_hot["ok_per_s"] else float("inf")
        line(ratio >= 50, f"hot mix, 1 process: {ratio:.1f}× naive ({naive_hot['ok_per_s']:.1f}/s) (target ≥ 50×)")
    soak = next((r for r in results if r.get("role") == "soak"), None)
    if soak:
        growth = 100 * (soak["rss_end_mib"] - soak["rss_start_mib"]) / soak["rss_start_mib"]
        line(growth < soak_growth_pct and clean(soak),
             f"soak {soak['duration']}s: server RSS {soak['rss_start_mib']} → {soak['rss_end_mib']} MiB "
             f"({growth:+.1f}%; flat = under {soak_growth_pct}%), {soak['ok_per_s']:.0f}/s, "
             f"errors {sum(soak['errors'].values())}")
    return "\n".join(lines)


REDIS = {"pid": None}


def start_redis(args, log):
    """A redis-server of the benchmark's own (unless RATELIMIT_STORAGE_URI names one, or --no-redis):
    the deployment's one ledger writer needs it; without it every process writes for itself."""
    if args.no_redis:
        os.environ["RATELIMIT_STORAGE_URI"] = "memory://"
        return None
    if os.environ.get("RATELIMIT_STORAGE_URI", "").startswith("redis"):
        return None
    from devstack import stack

    started = stack.start("bench", components=("redis",), ports={"redis": 0})
    os.environ["RATELIMIT_STORAGE_URI"] = started.redis_url
    REDIS["pid"] = started._managed[0].process.pid
    log(f"redis: {started.redis_url}")
    return started


MIXES = ("uniform", "hot", "bank")
BASELINES = ("minimal", "naive-uniform", "naive-hot", "raw")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per configuration")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--users", type=int, default=1000)
    # Each process starts cold (sessions, usernames: per-process caches), and a miss costs a Firestore
    # read: with 3 s, a process that was not the writer spent a fifth of its CPU on such reads inside
    # the window (bench/RESULTS.md, "Cold caches"), and 4 processes miss more often than 1.
    parser.add_argument("--warmup", type=float, default=10.0,
                        help="seconds of load before measuring (10 s fills every process's caches for 300 users "
                             "on 4 processes; give 30 s for 1,000)")
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout per request, seconds")
    parser.add_argument("--naive-duration", type=float, default=None,
                        help="measured seconds for the naive design (default: min(duration, 20))")
    parser.add_argument("--raw-duration", type=float, default=None, help="default: min(duration, 10)")
    parser.add_argument("--raw-batch", type=int, default=55, help="transfers per raw group commit")
    parser.add_argument("--quick", action="store_true", help="5 s runs and 200 users: a smoke test")
    parser.add_argument("--soak", type=float, default=0.0,
                        help="also run the uniform mix this many seconds and report server RSS over it")
    parser.add_argument("--processes", default="1,2,4",
                        help="server process counts (gunicorn workers) to measure ours with")
    parser.add_argument("--topology", choices=("instances", "workers"), default="instances",
                        help="N processes as N one-worker servers on their own ports (instances behind a "
                             "balancer), or as one gunicorn of N workers on one port")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each mix's process counts this many times, interleaved (1, 2, 4, 1, 2, "
                             "4, ...), and report the round of median server CPU per transfer (every round's "
                             "errors and invariants count)")
    parser.add_argument("--only", default=",".join(MIXES + BASELINES),
                        help=f"comma-separated subset of {','.join(MIXES + BASELINES)} (and soak with --soak)")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for our measured server (tuning experiments)")
    parser.add_argument("--rss-every", type=float, default=30.0, help="RSS sample period in seconds")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", metavar="DIR",
                        help="record py-spy (pip install py-spy) collapsed stacks of our server into DIR")
    parser.add_argument("--profile-mode", choices=("gil", "wall"), default="gil")
    parser.add_argument("--no-redis", action="store_true",
                        help="no redis: rate limits per process and every process its own ledger writer (before)")
    parser.add_argument("--out", help="also write the report (markdown) here, and the raw data as .json")
    args = parser.parse_args(argv)
    if args.out:  # its folder now, not after the run: a missing one would lose every figure
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.quick:
        args.duration, args.users, args.warmup = min(args.duration, 3.0), min(args.users, 100), 0.5
    args.naive_duration = args.naive_duration or min(args.duration, 20.0)
    args.raw_duration = args.raw_duration or min(args.duration, 10.0)
    only = set(args.only.split(","))
    processes = [int(p) for p in args.processes.split(",")]
    extra_env = dict(kv.split("=", 1) for kv in args.env)

    def log(message):
        print(message, flush=True)

    info = machine()
    log(f"machine: {info}")
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    log_dir = tempfile.mkdtemp(prefix="bench-logs-")
    emu = harness.start(port=0)
    os.environ["FIRESTORE_EMULATOR_HOST"] = emu.host
    redis_stack = start_redis(args, log)
    results = []
    try:
        if "minimal" in only:
            log("[minimal] minimal Flask endpoint, same gunicorn settings")
            results.append(dict(run_minimal(args, log, log_dir, args.users), role="minimal"))
        for mix in MIXES:
            if mix not in only:
                continue
            rounds = defaultdict(list)
            for round_no in range(1, args.rounds + 1):  # interleaved: a slower spell hits every count alike
                for workers in processes:
                    label = f"{mix}-{workers}p" + (f"-r{round_no}" if args.rounds > 1 else "")
                    r = run_http_config(label, mix, emu, args, log, extra_env, args.duration,
                                        args.users, log_dir, workers=workers)
                    rounds[workers].append(dict(r, name="ours (optimistic group commit)", role="ours",
                                                round=round_no))
            results.extend(median_round(rounds[workers]) for workers in processes)
        for mix in ("uniform", "hot"):
            if f"naive-{mix}" in only:
                r = run_http_config(f"naive-{mix}", mix, emu, args, log, {"LEDGER_MODE": "naive"},
                                    args.naive_duration, args.users, log_dir)
                results.append(dict(r, name="naive (LEDGER_MODE=naive)", role="naive"))
        if "raw" in only:
            log("[raw] group commit without HTTP")
            results.append(dict(run_raw(emu, args, log, args.users), role="raw"))
        if args.soak:
            r = run_http_config("soak", "uniform", emu, args, log, extra_env, args.soak, args.users, log_dir,
                                workers=max(processes))
            results.append(dict(r, name=f"ours, soak {args.soak:.0f}s", role="soak"))
    finally:
        emu.stop()
        if redis_stack:
            redis_stack.stop()
    report = "\n\n".join(part for part in [
        f"Run {started}; load average before: {' '.join(f'{x:.2f}' for x in info['load_before'])}, "
        f"after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory_gib']} GiB, Python {info['python']}",
        "Command: `.venv/bin/python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]) + "`",
        table(results), cost_table(results), rounds_lines(results), targets(results)] if part)
    print("\n" + report, flush=True)
    broken = [r for r in results if r.get("ledger") and r["ledger"]["problems"]]
    our_errors = [r for r in results if r.get("role") in ("ours", "soak") and r["errors"]]
    for r in our_errors:
        print(f"ERRORS from our server in {r['name']} [{r['mix']}, {r.get('processes')}p]: {r['errors']}", flush=True)
    for r in broken:
        print(f"INVARIANTS BROKEN in {r['name']} [{r['mix']}]: {r['ledger']['problems'][:10]}", flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(report + "\n")
        with open(os.path.splitext(args.out)[0] + ".json", "w", encoding="utf-8") as fh:
            json.dump({"machine": info, "args": vars(args), "results": results}, fh, indent=1, default=str)
    log(f"server logs: {log_dir}")
    return 1 if broken or our_errors else 0


if __name__ == "__main__":
    sys.exit(main())
