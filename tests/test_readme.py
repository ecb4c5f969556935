"""The README works as written: its first request runs, its links lead somewhere, it stays short.

The shell blocks marked `<!-- tested: NAME ... -->` are run with bash, as a
newcomer would paste them, against a live server seeded with the run
command's demo data (devstack/demo_data.py); only the port changes.
"""

import json
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
DOCUMENTED_BASE = "http://127.0.0.1:5000"
SEPARATOR = "=== next block ==="

TESTED_BLOCK = re.compile(r"<!-- tested: ([\w-]+)[^>]*-->\s*\n```sh\n(.*?)```", re.S)
LINK = re.compile(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)")


def marked_blocks(text):
    return dict(TESTED_BLOCK.findall(text))


def run_blocks(blocks, base_url):
    """Runs the blocks in one bash, as pasted one after the other; the output of each."""
    script = f"\nprintf '\\n{SEPARATOR}\\n'\n".join(blocks)
    assert DOCUMENTED_BASE in script
    script = "set -u\n" + script.replace(DOCUMENTED_BASE, base_url)
    env = {"PATH": os.environ["PATH"], "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    done = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [part.strip() for part in done.stdout.split(SEPARATOR)]


def test_the_first_request_works_as_written(demo_server):
    blocks = marked_blocks(README.read_text(encoding="utf-8"))
    assert list(blocks) == ["first-request", "first-transfer"]
    me, transfer = run_blocks([blocks["first-request"], blocks["first-transfer"]], demo_server)

    me = json.loads(me)
    assert me["user"]["username"] == "alice"
    assert me["account"]["balance"] == 48_750  # what the README says alice has
    transfer = json.loads(transfer)["transfer"]
    assert (transfer["amount"], transfer["status"], transfer["memo"]) == (500, "posted", "coffee")

    # Pasted again, the transfer is a replay: the same transfer, the money moved once.
    _me, again = run_blocks([blocks["first-request"], blocks["first-transfer"]], demo_server)
    assert json.loads(again)["transfer"]["id"] == transfer["id"]
    after, = run_blocks([blocks["first-request"]], demo_server)
    assert json.loads(after)["account"]["balance"] == 48_750 - 500


def test_the_readme_states_what_the_blocks_answer():
    text = README.read_text(encoding="utf-8")
    assert '"balance": 48750' in text and "`48750` is 487.50" in text
    for url in ("/healthz", "/readyz", "/api/v1/openapi.json"):
        assert f"`GET {url}`" in text


def test_the_readme_is_short():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 250


def _links(path):
    """(target, anchor) of every relative link of a Markdown page; target "" is the page itself."""
    return [(target, anchor) for target, anchor in LINK.findall(path.read_text(encoding="utf-8"))
            if "://" not in target and (target or anchor)]


def _anchors(path):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    headings = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_leads_somewhere(page):
    broken = []
    for target, anchor in _links(page):
        path = (page.parent / target) if target else page
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in _anchors(path)):
            broken.append(f"{target}#{anchor}" if anchor else target)
    assert not broken, f"{page.name}: {broken}"


def test_every_docs_page_is_reachable_from_the_readme():
    linked = {(ROOT / target).resolve() for target, _anchor in _links(README) if target}
    unlinked = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not unlinked, f"add {unlinked} to the README's 'Where to read more'"
