"""The import contract between envcheck's layers, read from the source (AST), not by importing.

* ``envcheck.facts.model`` imports nothing from envcheck and nothing that does I/O: it is the model
  every other layer reads.
* ``envcheck.facts`` (the model, its codec and the derived machine) never imports a probe, a rule,
  the installer, verify or preflight: probes import the model, never the reverse.
* ``envcheck.files`` (reading a user's file, writing atomically) is a leaf: it imports only
  ``envcheck.errors``, so any layer may use it.
"""

from __future__ import annotations

from helpers import paths
import ast
import functools
from pathlib import Path

import pytest

PKG = paths.ROOT / "envcheck"


@functools.lru_cache(maxsize=None)
def tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports(path: Path) -> list[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found = []
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module if node.level == 0 else "." * node.level + node.module)
    return found


def test_the_model_imports_nothing_from_envcheck_and_no_io_module():
    found = imports(PKG / "facts" / "model.py")
    assert found, "the AST walk found no import at all: the test would pass vacuously"
    bad = [m for m in found if m.startswith((".", "envcheck")) or m.split(".")[0] in (
        "subprocess", "socket", "urllib", "shutil", "glob", "pathlib", "json", "io")]
    assert bad == []


@pytest.mark.parametrize("path", sorted((PKG / "facts").glob("*.py")), ids=lambda p: p.name)
def test_the_facts_package_never_imports_a_consumer(path):
    # envcheck.files: the bounded reader of a user's file (it imports only envcheck.errors)
    allowed = ("envcheck.facts", "envcheck.errors", "envcheck.files", "envcheck.matrix.variants")
    bad = [m for m in imports(path) if m.startswith("envcheck") and not m.startswith(allowed)]
    assert bad == [], f"{path.name} imports {bad}"


def test_files_is_a_leaf():
    found = [m for m in imports(PKG / "files.py") if m.startswith("envcheck")]
    assert found == ["envcheck.errors"]


# A parser's intermediate result (one ``nvcc --version``), folded into the model's Toolkit.
NOT_FACTS = {"NvccVersion"}


def test_probes_take_their_types_from_the_model():
    """No probe defines an observed-state dataclass of its own."""
    for path in sorted((PKG / "probes").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)
                   and any("dataclass" in ast.unparse(d) for d in n.decorator_list)
                   and n.name not in NOT_FACTS]
        assert classes == [], f"{path.name} defines {classes}; they belong in envcheck/facts/model.py"


# What runs inside the target interpreter: the standard library and torch only, plus the other
# children and envcheck.faults (stdlib only, imported only while ENVCHECK_FAULT is set).
CHILDREN = sorted((PKG / "children").glob("*.py"))
# pynvml: the nvml_driver child runs in envcheck's own interpreter, where nvidia-ml-py is a dependency
CHILD_MAY_IMPORT = ("envcheck.children", "envcheck.faults", "torch", "torchvision", "fcntl", "pynvml")


@pytest.mark.parametrize("path", CHILDREN, ids=lambda p: p.name)
def test_children_import_only_the_standard_library_torch_and_each_other(path):
    import sys

    stdlib = set(sys.stdlib_module_names)
    found = imports(path)
    assert found or path.name == "__init__.py", "the AST walk found no import: the test would pass vacuously"
    bad = [m for m in found if not m.startswith(CHILD_MAY_IMPORT) and m.split(".")[0] not in stdlib]
    assert bad == [], f"{path.name} imports {bad}"


def test_children_parse_on_the_oldest_python_a_target_may_have():
    """A target interpreter can be older than envcheck's own (3.8 for ``envcheck fix``)."""
    for path in CHILDREN + [PKG / "faults.py", PKG / "__init__.py"]:
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 8))


def test_no_python_program_is_passed_as_a_string():
    """Every child is a module started through proc.run_child: nothing runs ``python -c``."""
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if '"-c"' not in text and "'-c'" not in text:
            continue  # no such constant at all: nothing to walk
        for node in ast.walk(tree(path)):
            # [python, "-c", source]: an interpreter and a program in a string (conda's own
            # channel flag, ["conda", "install", "-c", ...] or [..., "-c", channel], is not one)
            if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) >= 3:
                second = node.elts[1]
                if isinstance(second, ast.Constant) and second.value == "-c" and not isinstance(node.elts[0], ast.Constant):
                    offenders.append(f"{path.relative_to(PKG)}:{node.lineno}")
    assert offenders == []


def _graph(package: str) -> dict:
    """module -> the modules of ``package`` it imports (function-level imports included)."""
    out = {}
    for path in sorted((PKG / package).glob("*.py")):
        name = f"envcheck.{package}.{path.stem}" if path.stem != "__init__" else f"envcheck.{package}"
        deps = set()
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                base = node.module
                deps.add(base)
                deps.update(f"{base}.{a.name}" for a in node.names)  # `from envcheck.verify import perf`
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
        out[name] = {d for d in deps if d.startswith(f"envcheck.{package}.") and d != name}
    return out


def _cycle(graph: dict):
    state: dict = {}

    def visit(node, trail):
        state[node] = "open"
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return trail + [node, dep]
            if dep not in state:
                found = visit(dep, trail + [node])
                if found:
                    return found
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


@pytest.mark.parametrize("package", ["verify", "children", "probes"])
def test_no_import_cycle(package):
    graph = _graph(package)
    assert len(graph) > 3 and any(graph.values()), "nothing read: the test would pass vacuously"
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_verify_plan_report_and_perf_start_nothing_and_import_no_other_part():
    graph = _graph("verify")
    for part in ("plan", "report", "perf"):
        deps = graph[f"envcheck.verify.{part}"]
        assert not deps & {"envcheck.verify.run", "envcheck.verify.plan", "envcheck.verify.report",
                           "envcheck.verify.perf"}, (part, deps)
        assert "envcheck.proc" not in imports(PKG / "verify" / f"{part}.py")


# --------------------------------------------------------------------- the contract of issue 29

# The layers, lowest first. A module of a layer imports only from the layers listed for it (its
# own package included), at any depth (function-level imports too).
LOWEST = ("envcheck.errors",)


def _envcheck_imports(path: Path) -> list:
    return [m for m in imports(path) if m.startswith("envcheck")]


def test_the_outcome_vocabulary_imports_nothing_above_errors():
    found = imports(PKG / "outcome.py")
    assert found, "nothing read: the test would pass vacuously"
    assert [m for m in found if m.startswith("envcheck") and m not in LOWEST] == []


# Probes read the machine into the model. Besides the model, proc and errors they may use what
# runs below them: envcheck.children (standard library only: the static torch reader, which the
# probe also runs in-process for this interpreter, and the event framing it parses) and the one
# fault seam (envcheck.faults, stdlib only, inert unless ENVCHECK_FAULT is set).
PROBES_MAY_IMPORT = ("envcheck.facts.model", "envcheck.proc", "envcheck.errors", "envcheck.probes",
                     "envcheck.children", "envcheck.faults")


@pytest.mark.parametrize("path", sorted((PKG / "probes").glob("*.py")), ids=lambda p: p.name)
def test_probes_import_only_the_model_proc_errors_and_what_runs_below_them(path):
    bad = [m for m in _envcheck_imports(path) if m != "envcheck" and not m.startswith(PROBES_MAY_IMPORT)]
    assert bad == [], f"probes/{path.name} imports {bad}"


def test_the_probe_contract_catches_a_probe_that_reaches_up():
    """The check above is not vacuous: a probe importing the rules would be caught."""
    offending = ["envcheck.rules", "envcheck.facts.model", "envcheck.render.diagnose_text"]
    assert [m for m in offending if not m.startswith(PROBES_MAY_IMPORT)] == ["envcheck.rules",
                                                                              "envcheck.render.diagnose_text"]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _package_of(module: str) -> str:
    return module.rsplit(".", 1)[0]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _private_uses(path: Path) -> list:
    """``from envcheck.x import _name``, ``mod._name`` on an imported envcheck module, and a
    ``_private`` module of another package."""
    me = _module_name(path)
    my_package = me if path.name == "__init__.py" else _package_of(me)
    found, aliases = [], {}
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("envcheck"):
            parts = node.module.split(".")
            for i, part in enumerate(parts):
                if _is_private(part) and not my_package.startswith(".".join(parts[:i])):
                    found.append(f"{node.module} (a private module of another package)")
            for a in node.names:
                target = f"{node.module}.{a.name}"
                if _is_private(a.name) and node.module != me:
                    # a private module of one's own package is the package's business
                    if not ((PKG.parent / target.replace(".", "/")).with_suffix(".py").exists()
                            and my_package.startswith(node.module)):
                        found.append(f"{node.module}.{a.name}")
                aliases[a.asname or a.name] = target
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("envcheck") and a.asname:
                    aliases[a.asname] = a.name
    for node in ast.walk(tree(path)):
        if (isinstance(node, ast.Attribute) and _is_private(node.attr) and isinstance(node.value, ast.Name)
                and node.value.id in aliases):
            target = aliases[node.value.id]
            if (PKG.parent / target.replace(".", "/")).with_suffix(".py").exists() or \
                    (PKG.parent / target.replace(".", "/") / "__init__.py").exists():
                found.append(f"{target}.{node.attr}")
    return found


def test_nothing_imports_another_modules_private_names():
    offenders = {str(p.relative_to(PKG)): _private_uses(p) for p in sorted(PKG.rglob("*.py"))}
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}


def test_the_private_name_check_finds_one(tmp_path, monkeypatch):
    """Held against a file that does each of the three things the contract forbids."""
    bad = PKG / "verify" / "zz_layers_probe.py"
    try:
        bad.write_text("from envcheck.matrix import archs as a\nfrom envcheck.preflight.checks import _x\n"
                       "from envcheck.probes.bounded import run_bounded\nfrom envcheck.cli._options import json_option\n"
                       "y = a._hidden\n", encoding="utf-8")
        tree.cache_clear()
        assert sorted(_private_uses(bad)) == ["envcheck.cli._options (a private module of another package)",
                                              "envcheck.matrix.archs._hidden", "envcheck.preflight.checks._x"]
    finally:
        bad.unlink()
        tree.cache_clear()


# Only ``envcheck.cli.main`` leaves the process. The children are separate programs (they exit with
# their own status); faults.py's injected crash is the rehearsal of a crash.
MAY_EXIT = {"cli/__init__.py", "faults.py"}


def test_only_main_exits():
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        rel = str(path.relative_to(PKG))
        if rel in MAY_EXIT or rel.startswith("children/"):
            continue
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("exit", "_exit") \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in ("sys", "os"):
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


def test_commands_write_nothing_themselves():
    """A command returns a Result; main renders it. No print, echo or stream write in cli/ but main."""
    offenders = []
    for path in sorted((PKG / "cli").glob("*.py")):
        if path.name == "__init__.py":
            continue
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
                stream = isinstance(f, ast.Attribute) and isinstance(f.value, ast.Attribute) and f.value.attr in ("stdout", "stderr")
                if name in ("print", "echo", "secho") or (name == "write" and stream):
                    offenders.append(f"cli/{path.name}:{node.lineno} {name}")
    assert offenders == []
    assert len(list((PKG / "cli").glob("*.py"))) >= 7, "the cli package is not where the test looks"


def test_the_library_api_is_lazy_and_each_name_is_what_the_cli_calls():
    """``import envcheck`` imports nothing; each API name loads its module on first use, and is
    the very function the commands call (not a copy that could drift)."""
    import envcheck
    from envcheck.facts import load_facts
    from envcheck.install.choose import choose
    from envcheck.matrix.store import load
    from envcheck.preflight.node import run_node
    from envcheck.probes import collect
    from envcheck.rules import diagnose

    assert envcheck.collect is collect and envcheck.load_facts is load_facts and envcheck.load_matrix is load
    assert envcheck.diagnose is diagnose and envcheck.choose is choose and envcheck.run_node is run_node
    assert set(envcheck.__all__) <= set(dir(envcheck))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        envcheck.nope  # noqa: B018
    # the only import in the package's own module is importlib, inside __getattr__
    assert imports(PKG / "__init__.py") == ["importlib"]


def test_the_library_neither_renders_nor_calls_the_cli():
    """render/ and cli/ sit on top: they import the library, never the other way round (so every
    piece of output text is in render/, and the library can be used without the CLI)."""
    offenders = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.parts[0] in ("render", "cli", "__main__.py"):  # python -m envcheck runs the CLI
            continue
        bad = [m for m in imports(path) if m.startswith(("envcheck.render", "envcheck.cli"))]
        if bad:
            offenders.append(f"{rel}: {bad}")
    assert offenders == []


# Rules read the model and the data and decide; they never probe, run, render or install. The
# install modules they may use are the pure decision path (choose, commands, fix); the report
# error-line catalogue is data.
RULES_MAY_IMPORT = ("envcheck.rules", "envcheck.facts", "envcheck.matrix", "envcheck.outcome", "envcheck.errors",
                    "envcheck.install.fix", "envcheck.install.commands", "envcheck.install.choose",
                    "envcheck.reports.errors")


@pytest.mark.parametrize("path", sorted((PKG / "rules").glob("*.py")), ids=lambda p: p.name)
def test_rules_import_only_the_model_the_data_and_the_install_decision(path):
    bad = [m for m in _envcheck_imports(path) if not m.startswith(RULES_MAY_IMPORT)]
    assert bad == [], f"rules/{path.name} imports {bad}"
    for pure in ("choose", "commands", "fix"):  # what the rules may use starts nothing either
        assert "envcheck.proc" not in imports(PKG / "install" / f"{pure}.py")
