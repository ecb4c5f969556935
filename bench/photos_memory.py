"""Memory of the server while 8 clients upload 10 MiB images at once.

    .venv/bin/python -m bench.photos_memory [--clients 8] [--rounds 3] [--slots 2 8]

Starts the local stack (Firestore and Cloud Storage emulators, devstack/stack.py)
and, for each value of PHOTO_DECODE_SLOTS, a fresh server under gunicorn with
the production settings. Each client uploads `rounds` images in a row, all
clients at once, in two workloads:
- `noise`: a JPEG of random pixels just under 10 MiB (the byte limit);
- `40mp`: a JPEG of 40 million pixels (the pixel limit), the largest decode.
The server's resident memory (VmRSS of the gunicorn worker) is sampled every
20 ms; the report gives it at rest, its peak and after the run.
"""

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from bench.run import HIGH_LIMIT, PASSWORD, SECRET, Server, api
from devstack import stack as local_stack

# The upload limits of API.md (POST /api/v1/photos).
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000

MiB = 1024 * 1024


def noise_jpeg_under(limit):
    """Random pixels (incompressible): the largest file for its size; about `limit` bytes, never over."""
    side, quality = 2600, 95
    while True:
        data = _jpeg(Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)), quality)
        if len(data) <= limit:
            if len(data) > limit * 0.9:
                return data
            side = int(side * (limit / len(data)) ** 0.5 * 0.98)
        else:
            side = int(side * (limit / len(data)) ** 0.5 * 0.98)


def big_pixels_jpeg(pixels=MAX_PIXELS):
    """A gradient of `pixels` pixels (8000 x 5000): small on the wire, 120 MB decoded."""
    width = 8000
    height = pixels // width
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    return _jpeg(gradient, 90)


def _jpeg(image, quality):
    from io import BytesIO

    out = BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


class RssSampler(threading.Thread):
    def __init__(self, server, interval=0.02):
        super().__init__(daemon=True)
        self.server, self.interval = server, interval
        self.peak = 0.0
        self.running = True

    def run(self):
        while self.running:
            self.peak = max(self.peak, self.server.rss())
            time.sleep(self.interval)

    def stop(self):
        self.running = False
        self.join()
        return self.peak


def signup(url):
    name = f"m{uuid.uuid4().hex[:10]}"
    resp = api("POST", f"{url}/api/v1/auth/signup", json={"username": name, "password": PASSWORD})
    resp.raise_for_status()
    return resp.json()["token"]


def run_workload(server, tokens, data, rounds):
    statuses, latencies = [], []

    def client(token):
        for _ in range(rounds):
            t0 = time.perf_counter()
            resp = api("POST", f"{server.url}/api/v1/photos", token,
                       files={"image": ("big.jpg", data, "image/jpeg")}, data={"caption": "bench"})
            latencies.append(time.perf_counter() - t0)
            statuses.append(resp.status_code)

    sampler = RssSampler(server)
    before = server.rss()
    sampler.start()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(len(tokens)) as pool:
        list(pool.map(client, tokens))
    elapsed = time.perf_counter() - t0
    peak = sampler.stop()
    latencies.sort()
    return {"before": before, "peak": peak, "after": server.rss(), "elapsed": elapsed,
            "ok": statuses.count(201), "total": len(statuses), "p50": latencies[len(latencies) // 2],
            "max": latencies[-1]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--slots", type=int, nargs="+", default=[2, 8],
                        help="PHOTO_DECODE_SLOTS values to measure (2 is the default)")
    args = parser.parse_args(argv)

    workloads = {"noise": noise_jpeg_under(MAX_BYTES - 64 * 1024), "40mp": big_pixels_jpeg()}
    for name, data in workloads.items():
        size = Image.open(__import__("io").BytesIO(data)).size
        print(f"workload {name}: {len(data) / MiB:.2f} MiB, {size[0]}x{size[1]} "
              f"({size[0] * size[1] / 1e6:.1f} MP)", flush=True)

    project = f"demo-bench-photos-{uuid.uuid4().hex[:6]}"
    stack = local_stack.start(project, components=("firestore", "storage"),
                              ports={"firestore": 0, "storage": 0})
    log_dir = tempfile.mkdtemp(prefix="bench-photos-")
    rows = []
    try:
        for slots in args.slots:
            env = dict(os.environ, **stack.env(), SECRET_KEY=SECRET, BCRYPT_ROUNDS="4",
                       SIGNUP_RATE_LIMIT=HIGH_LIMIT, CONTENT_RATE_LIMIT=HIGH_LIMIT,
                       RATELIMIT_STORAGE_URI="memory://", WEB_THREADS="16",
                       PHOTO_DECODE_SLOTS=str(slots), NO_PROXY="127.0.0.1,localhost")
            server = Server("server:create_app()", env, log_dir, f"photos-{slots}")
            try:
                tokens = [signup(server.url) for _ in range(args.clients)]
                # One upload first, so that the libraries' one-time allocations are in "at rest".
                api("POST", f"{server.url}/api/v1/photos", tokens[0],
                    files={"image": ("w.jpg", _jpeg(Image.new("RGB", (64, 64)), 80), "image/jpeg")})
                for name, data in workloads.items():
                    result = run_workload(server, tokens, data, args.rounds)
                    rows.append({"slots": slots, "workload": name, **result})
                    print(f"slots={slots} {name}: {result}", flush=True)
            finally:
                server.stop()
    finally:
        stack.stop()

    print()
    print(f"{args.clients} clients x {args.rounds} uploads each, at once; RSS of the gunicorn worker (MiB)")
    print("| decode slots | workload | at rest | peak | after | uploads ok | wall s | p50 s | max s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['slots']} | {r['workload']} | {r['before']:.0f} | {r['peak']:.0f} | {r['after']:.0f} | "
              f"{r['ok']}/{r['total']} | {r['elapsed']:.1f} | {r['p50']:.1f} | {r['max']:.1f} |")
    return 0 if all(r["ok"] == r["total"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
