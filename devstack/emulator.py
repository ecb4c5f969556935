"""Find, start and stop a local Firestore emulator.

One harness for the run command, the tests and the benchmark. Ports and the
rules path come from firebase.json so that `firebase emulators:start` and
this harness agree. When FIRESTORE_EMULATOR_HOST is already set, that
emulator is used and nothing is started.
"""

import glob
import json
import os
import shutil
import urllib.error
import urllib.request

from . import processes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

INSTALL_HELP = """No Firestore emulator was found. Install one of:
  - Debian/Ubuntu: apt-get install google-cloud-cli-firestore-emulator
    (from Google's Cloud SDK apt repository; needs Java 11+)
  - gcloud components install cloud-firestore-emulator
  - npm install -g firebase-tools && firebase setup:emulators:firestore
or point FIRESTORE_EMULATOR_JAR at a cloud-firestore-emulator jar, or
FIRESTORE_EMULATOR_HOST at a running emulator."""


class EmulatorNotFound(RuntimeError):
    pass


def firebase_settings(root=ROOT):
    """(port, rules path) of the Firestore emulator as firebase.json declares them."""
    with open(os.path.join(root, "firebase.json"), encoding="utf-8") as fh:
        settings = json.load(fh)
    port = settings.get("emulators", {}).get("firestore", {}).get("port", 8080)
    rules = settings.get("firestore", {}).get("rules", "rules/firestore.rules")
    return int(port), os.path.join(root, rules)


def _gcloud_sdk_roots():
    roots = [os.environ.get("CLOUDSDK_ROOT_DIR"), "/usr/lib/google-cloud-sdk",
             "/usr/share/google-cloud-sdk", os.path.expanduser("~/google-cloud-sdk"),
             "/opt/google-cloud-sdk"]
    gcloud = shutil.which("gcloud")
    if gcloud:
        # Resolve the SDK root from the binary's real location (no slow `gcloud info`).
        roots.insert(1, os.path.dirname(os.path.dirname(os.path.realpath(gcloud))))
    return [r for r in roots if r]


def find_emulator_command():
    """The argv prefix that runs the emulator, trying explicit settings first."""
    jar = os.environ.get("FIRESTORE_EMULATOR_JAR")
    if jar:
        if not os.path.isfile(jar):
            raise EmulatorNotFound(f"FIRESTORE_EMULATOR_JAR={jar} does not exist.\n{INSTALL_HELP}")
        return _jar_command(jar)
    for root in _gcloud_sdk_roots():
        jar = os.path.join(root, "platform", "cloud-firestore-emulator", "cloud-firestore-emulator.jar")
        if os.path.isfile(jar):
            # Java directly, not the launcher script, so that stopping it stops java.
            return _java() + ["-cp", jar, "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
                              "start"]
    cached = sorted(glob.glob(os.path.expanduser(
        "~/.cache/firebase/emulators/cloud-firestore-emulator-v*.jar")))
    if cached:
        return _jar_command(cached[-1])
    raise EmulatorNotFound(INSTALL_HELP)


def _java():
    java = os.environ.get("JAVA") or shutil.which("java")
    if not java:
        raise EmulatorNotFound("Java is needed to run the Firestore emulator; install a JRE 11+.")
    return [java, "-Duser.language=en"]


def _jar_command(jar):
    return _java() + ["-jar", jar]


def wait_until_ready(host, timeout=60.0, process=None):
    def ready():
        try:
            with urllib.request.urlopen(f"http://{host}/", timeout=1) as resp:
                return resp.status == 200
        except urllib.error.URLError:
            return False

    processes.wait_until(ready, process, f"the Firestore emulator at {host}", timeout)


def load_rules(host, project_id, rules_path):
    """Loads security rules for one project into a running emulator (as firebase-tools does)."""
    with open(rules_path, encoding="utf-8") as fh:
        content = fh.read()
    body = json.dumps({"rules": {"files": [{"name": "firestore.rules", "content": content}]}}).encode()
    request = urllib.request.Request(
        f"http://{host}/emulator/v1/projects/{project_id}:securityRules",
        data=body, method="PUT", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        resp.read()


def clear_project(host, project_id):
    """Deletes every document of one project in the emulator."""
    request = urllib.request.Request(
        f"http://{host}/emulator/v1/projects/{project_id}/databases/(default)/documents",
        method="DELETE")
    with urllib.request.urlopen(request, timeout=30) as resp:
        resp.read()


class Emulator(processes.ManagedProcess):
    """A Firestore emulator process this program started (or an existing one it was given)."""

    def __init__(self, host, managed=None):
        super().__init__("firestore-emulator", managed and managed.process, managed and managed.log_path)
        self.host = host

    @property
    def url(self):
        return f"http://{self.host}"


def start(port=None, rules_path=None, quiet=True):
    """Uses FIRESTORE_EMULATOR_HOST if set, else starts an emulator and waits for it.

    The port is firebase.json's when free (port=None), a free one when port=0.
    The emulator is stopped at interpreter exit and on SIGTERM.
    """
    existing = os.environ.get("FIRESTORE_EMULATOR_HOST")
    if existing:
        wait_until_ready(existing, timeout=30)
        return Emulator(existing)
    emulator = launch(port, rules_path, quiet)
    wait_until_ready(emulator.host, process=emulator)
    return emulator


def launch(port=None, rules_path=None, quiet=True):
    """Starts an emulator without waiting for it (the stack starts everything at once)."""
    default_port, default_rules = firebase_settings()
    port = processes.choose_port(port, default_port)
    command = find_emulator_command() + [
        "--host=127.0.0.1", f"--port={port}", f"--rules={rules_path or default_rules}"]
    return Emulator(f"127.0.0.1:{port}", processes.spawn("firestore-emulator", command, quiet))
