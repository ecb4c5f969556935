"""The committed Firebase bundle of the demo client is what its source and the lockfile build.

The server serves client_demo/ without Node, so the bundle is committed; this
rebuilds it (esbuild, about a second) and compares byte for byte.
"""

import json
import os
import shlex
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_committed_bundle_is_up_to_date(tmp_path):
    esbuild = os.path.join(ROOT, "node_modules", ".bin", "esbuild")
    if not os.path.exists(esbuild) or not shutil.which("node"):
        message = "node_modules is missing: run scripts/bootstrap.sh (npm ci)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with open(os.path.join(ROOT, "package.json"), encoding="utf-8") as fh:
        command = shlex.split(json.load(fh)["scripts"]["build:client"])
    assert command[0] == "esbuild"
    outfile = next(arg.split("=", 1)[1] for arg in command if arg.startswith("--outfile="))
    built = tmp_path / os.path.basename(outfile)
    args = [f"--outfile={built}" if arg.startswith("--outfile=") else arg for arg in command[1:]]
    subprocess.run([esbuild, *args, "--log-level=error"], cwd=ROOT, check=True, timeout=120)
    committed = os.path.join(ROOT, outfile)
    for suffix in ("", ".LEGAL.txt"):
        with open(committed + suffix, "rb") as fh:
            assert fh.read() == (tmp_path / (built.name + suffix)).read_bytes(), (
                f"{outfile}{suffix} is stale: run `npm run build:client` and commit it")
