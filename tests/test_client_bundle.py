"""The committed bundles of the demo client (the Firebase live layer, the
dashboard's charts) are what their sources and the lockfile build.

The server serves client_demo/ without Node, so the bundles are committed;
this rebuilds them (esbuild, about a second) and compares every file byte for
byte, and finds no committed file in the bundle folder that the build does
not make.
"""

import json
import os
import shlex
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_committed_bundles_are_up_to_date(tmp_path):
    esbuild = os.path.join(ROOT, "node_modules", ".bin", "esbuild")
    if not os.path.exists(esbuild) or not shutil.which("node"):
        message = "node_modules is missing: run scripts/bootstrap.sh (npm ci)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with open(os.path.join(ROOT, "package.json"), encoding="utf-8") as fh:
        command = shlex.split(json.load(fh)["scripts"]["build:client"])
    assert command[0] == "esbuild"
    outdir = next(arg.split("=", 1)[1] for arg in command if arg.startswith("--outdir="))
    args = [f"--outdir={tmp_path}" if arg.startswith("--outdir=") else arg for arg in command[1:]]
    subprocess.run([esbuild, *args, "--log-level=error"], cwd=ROOT, check=True, timeout=120)
    built = sorted(p.name for p in tmp_path.iterdir())
    assert {"firebase-live.js", "charts.js", "charts.css"} <= set(built), built
    assert sorted(os.listdir(os.path.join(ROOT, outdir))) == built, (
        f"{outdir} differs from what the build makes: run `npm run build:client` and commit it")
    for name in built:
        with open(os.path.join(ROOT, outdir, name), "rb") as fh:
            assert fh.read() == (tmp_path / name).read_bytes(), (
                f"{outdir}/{name} is stale: run `npm run build:client` and commit it")
