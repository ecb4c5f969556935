"""The shape of server/, checked from its source: dependencies point one way.

- no import cycle between the packages of server/ (a domain may use the
  kernel and, one way only, another domain's narrow interface);
- services and stores know nothing of Flask, and services nothing of the HTTP
  edge or of the adapters (they reach Firestore through their store);
- Firestore and Cloud Storage are reached only from datastore.py and the stores;
- the production package and the local stack (devstack/) stay apart: server/
  never imports devstack, devstack reaches the server only through
  `server.create_app` (and the CLI on the app it makes); server/ keeps at most
  ten top-level modules beside its packages;
- bench/ reaches the server only through `server.create_app` (the app, its HTTP
  API, its CLI and the ledger's documented bench hook);
- each small rule once: a lost race is classified only in datastore.py, full
  jitter and the guarded commit live only in kernel/commits.py, writes are
  `Write`s (no `("create", collection, ...)` tuples), no alias classes and no
  `noqa: F401` re-exports.
"""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVER = ROOT / "server"
DEVSTACK = ROOT / "devstack"
BENCH = ROOT / "bench"


def _modules(top=SERVER):
    for path in sorted(top.rglob("*.py")):
        rel = path.relative_to(top.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imports(name, path):
    """Absolute names of everything a module imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def _package_of(module):
    """server.X for a module of server/X/ (a domain or the kernel); None for top-level modules."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or (len(parts) == 2 and (SERVER / parts[1]).is_dir()) else None


def _package_graph():
    packages = {p for m, _ in _modules() if (p := _package_of(m))}
    graph = {p: set() for p in packages}
    for name, path in _modules():
        source = _package_of(name)
        if source is None:
            continue
        for target in _imports(name, path):
            dest = _package_of(target) if target.startswith("server.") else None
            if dest and dest != source and dest in graph:
                graph[source].add(dest)
    return graph


def _find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_between_packages():
    assert _find_cycle(_package_graph()) is None, " -> ".join(_find_cycle(_package_graph()))


def test_the_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_services_and_stores_know_nothing_of_flask():
    offenders = [name for name, path in _modules()
                 if path.name in ("service.py", "store.py") or path.parent.name == "kernel"
                 if any(i == "flask" or i.startswith("flask.") or i.startswith("flask_") for i in _imports(name, path))]
    assert offenders == []


# The HTTP edge and the adapters, as modules: a service reaches neither.
EDGE_AND_ADAPTERS = {"server.edge", "server.datastore", "server.objectstore", "server.ledger.wire"}


def test_services_reach_neither_the_edge_nor_an_adapter():
    offenders = {name: sorted(hits) for name, path in _modules() if path.name == "service.py"
                 if (hits := {i for i in _imports(name, path)
                              if any(i == m or i.startswith(m + ".") for m in EDGE_AND_ADAPTERS)})}
    assert offenders == {}


# Adapters of Google's clients (datastore, Cloud Storage, the ledger's private write
# encoding), as paths below server/.
ADAPTERS = {"datastore.py", "objectstore.py", "ledger/wire.py"}


def _may_reach_firestore(path):
    return (path.relative_to(SERVER).as_posix() in ADAPTERS
            or path.name == "store.py" or path.name.endswith("_store.py"))


def test_firestore_only_in_the_datastore_and_the_stores():
    offenders = [name for name, path in _modules() if not _may_reach_firestore(path)
                 if any(i.startswith(("google.cloud", "firebase_admin")) for i in _imports(name, path))]
    assert offenders == []


def test_the_server_never_imports_the_local_stack():
    offenders = {name: sorted(hits) for name, path in _modules()
                 if (hits := {i for i in _imports(name, path) if i == "devstack" or i.startswith("devstack.")})}
    assert offenders == {}


def _server_imports_beyond_create_app(top, allowed=()):
    return {name: sorted(hits) for name, path in _modules(top)
            if (hits := {i for i in _imports(name, path) if i.partition(".")[0] == "server"
                         and i not in ("server", "server.create_app", *allowed)})}


def test_the_local_stack_reaches_the_server_only_through_create_app():
    assert _server_imports_beyond_create_app(DEVSTACK) == {}


def test_the_server_package_keeps_a_short_top_level():
    modules = sorted(p.name for p in SERVER.glob("*.py"))
    assert len(modules) <= 10, modules


# The cat labeller is pure (pixels in, labels out): its evaluation measures it without an app.
BENCH_ENTRY_POINTS = ("server.photos.labels", "server.photos.labels.CatFaceLabeller")


def test_the_benchmarks_reach_the_server_only_through_create_app():
    assert _server_imports_beyond_create_app(BENCH, BENCH_ENTRY_POINTS) == {}


def _all_modules():
    for top in (SERVER, DEVSTACK, BENCH):
        yield from _modules(top)


def test_a_lost_race_is_classified_once():
    """Only the datastore adapter turns Firestore's precondition failures into LostRace."""
    offenders = [name for name, path in _modules() if path.name != "datastore.py" or path.parent != SERVER
                 if "FailedPrecondition" in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_one_jitter_and_one_guarded_commit_loop():
    defined = {}
    for name, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and ("jitter" in node.name or "backoff" in node.name
                                                      or node.name == "guarded"):
                defined.setdefault(node.name, []).append(name)
    assert defined.get("jitter") == ["server.kernel.commits"]
    assert {n: m for n, m in defined.items() if n != "jitter" and m != ["server.kernel.commits"]} == {
        "guarded": ["server.datastore", "server.kernel.commits"]}


def test_writes_are_named_never_positional_tuples():
    methods = {"create", "update", "set", "delete"}
    offenders = []
    for name, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Tuple) and len(node.elts) >= 3 and isinstance(node.elts[0], ast.Constant) \
                    and node.elts[0].value in methods and not all(isinstance(e, ast.Constant) for e in node.elts):
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []


def test_no_alias_classes_and_no_reexports():
    """A class of ours has one name (type aliases of library types, e.g. Amount = StrictInt, are fine)."""
    ours = {node.name for _name, path in _all_modules() for node in ast.walk(ast.parse(path.read_text("utf-8")))
            if isinstance(node, ast.ClassDef)}
    offenders = []
    for name, path in _all_modules():
        source = path.read_text(encoding="utf-8")
        if "noqa: F401" in source:
            offenders.append(f"{name}: noqa F401")
        for node in ast.parse(source).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and isinstance(node.value, ast.Name) and node.value.id in ours:
                offenders.append(f"{name}: {node.targets[0].id} = {node.value.id}")
    assert offenders == []


def test_checks_of_this_file_find_what_they_look_for(tmp_path):
    """The rules above can fail: an alias class and a write tuple are seen."""
    tree = ast.parse('ApiError = DomainError\nw = ("create", "c", "i", {})\n')
    assigns = [n for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Name)]
    tuples = [n for n in ast.walk(tree) if isinstance(n, ast.Tuple) and n.elts[0].value == "create"
              and not all(isinstance(e, ast.Constant) for e in n.elts)]
    assert len(assigns) == 1 and len(tuples) == 1
