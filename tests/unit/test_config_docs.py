"""docs/configuration.md's settings table agrees with the code, so it cannot drift.

Every environment variable the production package reads (server/config.py,
server/gunicorn_conf.py and the rest of server/, found in the source with
ast) is a row that names the file reading it; every row naming a file of
server/ is read there; every other file a row names exists and mentions the
variable; and each literal default in server/ is the one the row states.
"""

import ast
import operator
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVER = ROOT / "server"
PAGE = ROOT / "docs" / "configuration.md"
HEADER = "| variable | default | read by | meaning |"
NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_NO_DEFAULT = object()


def _cells(line):
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def settings_table(text):
    """{variable: {"default": cell, "read_by": [paths]}} of the page's one settings table."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == HEADER]
    assert len(starts) == 1, f"{PAGE.name} must hold exactly one settings table headed {HEADER!r}"
    rows = {}
    for line in lines[starts[0] + 2:]:
        if not line.startswith("|"):
            break
        name_cell, default, read_by, meaning = _cells(line)
        names = re.findall(r"`([^`]+)`", name_cell)
        assert len(names) == 1 and NAME.fullmatch(names[0]), f"one variable per row: {line!r}"
        assert names[0] not in rows, f"{names[0]} has two rows"
        assert meaning, f"{names[0]} has no meaning"
        rows[names[0]] = {"default": default, "read_by": re.findall(r"`([^`]+)`", read_by)}
    return rows


def _is_environ(node):
    return (isinstance(node, ast.Attribute) and node.attr == "environ"
            and isinstance(node.value, ast.Name) and node.value.id == "os")


def _is_env_get(call):
    func = call.func
    return isinstance(func, ast.Attribute) and (
        (func.attr in ("get", "setdefault") and _is_environ(func.value))
        or (func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os"))


def _helpers(tree):
    """Module-level functions that read the variable named by their first parameter (config._int...)."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.args.args:
            first = node.args.args[0].arg
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and _is_env_get(call) and call.args
                        and isinstance(call.args[0], ast.Name) and call.args[0].id == first):
                    found.add(node.name)
    return found


_OPS = {ast.Mult: operator.mul, ast.Add: operator.add, ast.Sub: operator.sub}


def _literal(node):
    """The value of a constant or of arithmetic on constants (24 * 3600); _NO_DEFAULT otherwise."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _literal(node.left), _literal(node.right)
        if _NO_DEFAULT not in (left, right):
            return _OPS[type(node.op)](left, right)
    return _NO_DEFAULT


def env_reads(path):
    """{variable: [literal defaults]} of every environment variable a module reads by name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    helpers = _helpers(tree)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    reads = {}

    def found(name_node, default=_NO_DEFAULT):
        if isinstance(name_node, ast.Constant) and isinstance(name_node.value, str):
            reads.setdefault(name_node.value, [])
            if default is not _NO_DEFAULT:
                reads[name_node.value].append(default)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and (
                _is_env_get(node) or (isinstance(node.func, ast.Name) and node.func.id in helpers)):
            default = _literal(node.args[1]) if len(node.args) > 1 else _NO_DEFAULT
            parent = parents.get(node)
            # `os.environ.get(X) or DEFAULT`
            if (default is _NO_DEFAULT and isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.Or)
                    and parent.values[0] is node and len(parent.values) == 2):
                default = _literal(parent.values[1])
            found(node.args[0], default)
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            found(node.slice)
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            found(node.left)
    return reads


def server_reads():
    """{variable: {relative path: [defaults]}} over every module of server/."""
    reads = {}
    for path in sorted(SERVER.rglob("*.py")):
        for name, defaults in env_reads(path).items():
            reads.setdefault(name, {})[path.relative_to(ROOT).as_posix()] = defaults
    return reads


def _default_texts(value):
    """How a default may be written in the table: 2.0 as 2, True as true, 24 * 3600 as 86400."""
    if isinstance(value, bool):
        return {str(value).lower()}
    if isinstance(value, float) and value.is_integer():
        return {str(int(value)), str(value)}
    return {str(value)}


TABLE = settings_table(PAGE.read_text(encoding="utf-8"))
READS = server_reads()


def test_the_parser_sees_how_config_reads_variables():
    config = env_reads(SERVER / "config.py")
    assert config["BCRYPT_ROUNDS"] == [12]  # _int(name, 12)
    assert config["TOKEN_TTL_SECONDS"] == [86400]  # 24 * 3600
    assert config["LOGIN_RATE_LIMIT"] == ["10/minute"]  # os.environ.get(name, default)
    assert config["FIREBASE_WEB_API_KEY"] == ["demo-api-key"]  # os.environ.get(name) or default
    assert config["LEDGER_SPLIT_CONFLICTS"] == [True]  # _bool
    gunicorn = env_reads(SERVER / "gunicorn_conf.py")
    assert {"MALLOC_MMAP_THRESHOLD_", "BIND", "PORT", "WEB_WORKERS", "WEB_THREADS"} <= set(gunicorn)


def test_every_variable_the_server_reads_has_its_row():
    missing = sorted(set(READS) - set(TABLE))
    assert not missing, f"add rows to docs/configuration.md for {missing}"


@pytest.mark.parametrize("name", sorted(READS))
def test_a_row_names_the_server_files_that_read_it(name):
    documented = {p for p in TABLE.get(name, {"read_by": []})["read_by"] if p.startswith("server/")}
    assert documented == set(READS[name]), f"{name}: the 'read by' cell should name {sorted(READS[name])}"


@pytest.mark.parametrize("name", sorted(TABLE))
def test_every_file_a_row_names_reads_the_variable(name):
    paths = TABLE[name]["read_by"]
    assert paths, f"{name}: the 'read by' cell names no file"
    for rel in paths:
        path = ROOT / rel
        assert path.is_file(), f"{name}: {rel} does not exist"
        if rel.startswith("server/"):
            assert name in env_reads(path), f"{name}: {rel} does not read it"
        else:
            assert re.search(rf"\b{re.escape(name)}\b", path.read_text(encoding="utf-8")), \
                f"{name}: {rel} does not mention it"


@pytest.mark.parametrize("name", sorted(n for n, files in READS.items() if any(files.values())))
def test_the_rows_default_is_the_codes(name):
    cell = TABLE[name]["default"]
    for rel, defaults in READS[name].items():
        for value in defaults:
            if value is None or value == "":
                continue  # "unset" / "empty": written in words
            texts = _default_texts(value)
            assert any(re.search(rf"(?<![\w.]){re.escape(t)}(?![\w.])", cell) for t in texts), \
                f"{name}: {rel} defaults to {value!r}, the table says {cell!r}"
