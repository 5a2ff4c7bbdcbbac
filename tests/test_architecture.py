"""The package's structure stays what the README says: each DVC stage lists exactly the code folders and
files its runner runs and every config section it reads (so `dvc repro` is never silently stale, nor re-runs
a stage for code it does not use), and imports go only downward.

Read from the source with `ast` (nothing is imported or run): a stage's command `churn stage X` is the
CLI function registered as X; the runners it calls, the runners' helpers they call, and everything
those import (transitively, inside functions too) are the stage's code; every `cfg.<section>` they
touch is a config section the stage reads.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PARAMS = "configs/params.yaml"
# churn_portable: the scoring arithmetic a registered model carries as its code, below every churn layer.
PACKAGES = ("churn", "churn_portable")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def module_path(name: str) -> Path | None:
    """The file of a churn module (a package's __init__.py), or None when there is no such module."""
    base = SRC / Path(*name.split("."))
    if (base / "__init__.py").exists():
        return base / "__init__.py"
    return base.with_suffix(".py") if base.with_suffix(".py").exists() else None


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(node: ast.AST, current: str) -> set[str]:
    """churn modules imported anywhere under `node` (functions included), with their parent packages."""
    found = set()
    package = current if module_path(current) and module_path(current).name == "__init__.py" else (
        current.rpartition(".")[0])
    for n in ast.walk(node):
        names = []
        if isinstance(n, ast.Import):
            names = [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ""
            if n.level:
                anchor = package.split(".")[: len(package.split(".")) - (n.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{a.name}" for a in n.names]
        for name in names:
            if name.split(".")[0] not in PACKAGES:
                continue
            parts = name.split(".")
            for i in range(1, len(parts) + 1):
                if module_path(".".join(parts[:i])):
                    found.add(".".join(parts[:i]))
    return found


def closure(modules: set[str]) -> set[str]:
    seen, todo = set(), list(modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(imported_modules(_tree(module_path(name)), name) - seen)
    return seen


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _config_sections() -> dict[str, str]:
    """Config attribute -> its key in params.yaml (`cfg.validate_` is the `validate` section)."""
    from churn.config import Config

    return {name: field.alias or name for name, field in Config.model_fields.items()}


def _reached(entry: ast.FunctionDef, local: dict[str, ast.FunctionDef]) -> list[ast.FunctionDef]:
    """The entry function and every local function it calls, transitively."""
    reached, todo = {}, [entry]
    while todo:
        fn = todo.pop()
        if fn.name not in reached:
            reached[fn.name] = fn
            todo += [local[n.func.id] for n in ast.walk(fn)
                     if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in local]
    return list(reached.values())


def stage_code(command: str) -> tuple[set[str], set[str], list]:
    """(modules run, config attributes read, whole-config hand-offs) behind `churn stage <command>`: the
    command, the runners and cli helpers it calls, and everything they import, transitively."""
    cli, runners = _tree(SRC / "churn" / "cli.py"), _tree(SRC / "churn" / "runners.py")
    entry = next(
        f for f in _functions(cli).values()
        for d in f.decorator_list
        if isinstance(d, ast.Call) and ast.unparse(d.func) == "stage_app.command" and d.args
        and d.args[0].value == command
    )
    local = _functions(runners) | {k: v for k, v in _functions(cli).items() if k.startswith("_")}
    functions = _reached(entry, local)
    sections, leaks = set(), []
    nodes = [n for fn in functions for n in ast.walk(fn)]
    # `cfg.train.refit` reads one setting (listed as train.refit); `cfg.train` handed on reads the whole section
    one_setting = {id(n.value): n.attr for n in nodes if isinstance(n, ast.Attribute)
                   and isinstance(n.value, ast.Attribute) and isinstance(n.value.value, ast.Name)
                   and n.value.value.id == "cfg"}
    for n in nodes:
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "cfg":
            sections.add(f"{n.attr}.{one_setting[id(n)]}" if id(n) in one_setting else n.attr)
        if (isinstance(n, ast.Call) and not (isinstance(n.func, ast.Name) and n.func.id in local)
                and any(isinstance(a, ast.Name) and a.id == "cfg" for a in [*n.args, *(k.value for k in n.keywords)])):
            leaks.append(ast.unparse(n.func))
    # runners' module-level imports, and the imports inside the functions this stage reaches
    top = ast.Module(body=[n for n in runners.body if not isinstance(n, ast.FunctionDef)], type_ignores=[])
    modules = imported_modules(top, "churn.runners").union(*(imported_modules(fn, "churn.runners") for fn in functions))
    modules.discard("churn.runners")  # reached through its functions above, not as a whole module
    return closure(modules) | {"churn.runners"}, sections, leaks


def _empty(path: Path) -> bool:
    """A module with nothing but a docstring (churn/__init__.py) runs no code a stage could depend on."""
    body = _tree(path).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def _stages() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]


def code_deps(modules: set[str]) -> set[str]:
    """What dvc.yaml lists for these modules: a subpackage as its folder (templates included), a top-level
    module as its file; a module with nothing but a docstring (churn/__init__.py) runs no code."""
    deps = set()
    for name in modules:
        path = module_path(name)
        if not _empty(path):
            parts = path.relative_to(ROOT).parts  # src, churn, [package], file
            if parts[1] != "churn":  # a package of its own (churn_portable): its folder
                deps.add("/".join(parts[:2]))
            else:
                deps.add("/".join(parts[:3]) if len(parts) > 3 else "/".join(parts))
    return deps


@pytest.mark.parametrize("stage", sorted(_stages()))
def test_dvc_stage_lists_every_module_and_config_section_its_runner_reads(stage):
    spec = _stages()[stage]
    command = spec["cmd"].split("churn stage ", 1)[1].split()[0]
    modules, sections, leaks = stage_code(command)
    assert not leaks, f"stage {stage} hands the whole config to {leaks}: pass the sections it needs"
    listed = {str(d) for d in spec.get("deps", []) if str(d).startswith("src/")}
    needed = code_deps(modules)
    assert not needed - listed, f"dvc.yaml stage {stage} runs code it does not list as deps: {sorted(needed - listed)}"
    assert not listed - needed, f"dvc.yaml stage {stage} lists code it does not run: {sorted(listed - needed)}"
    params = {key for entry in spec.get("params", []) for key in (entry.get(PARAMS, []) if isinstance(entry, dict)
                                                                   else [entry])}
    keys = _config_sections()
    read = {".".join([keys[s.split(".")[0]], *s.split(".")[1:]]) for s in sections if s.split(".")[0] in keys}
    unlisted = {key for key in read if key not in params and key.split(".")[0] not in params}
    assert unlisted == set(), f"dvc.yaml stage {stage} reads config section(s) {sorted(unlisted)} not in its params"


def test_the_analysis_sees_what_a_stage_reads():
    # Guards the check above against passing vacuously: the score stage's known reads are found.
    def section(names):
        return {s.split(".")[0] for s in names}

    modules, sections, _ = stage_code("score")
    assert {"churn.score", "churn.score._causes", "churn.model", "churn.vocab", "churn.config"} <= modules
    assert {"score", "explain", "value", "features"} <= section(sections)
    modules, sections, _ = stage_code("report")
    assert {"churn.report", "churn.report.localize", "churn.report._html"} <= modules and "report" in section(sections)
    modules, sections, _ = stage_code("decide")
    assert {"churn.action", "churn.action._plan"} <= modules and {"score", "decide"} <= section(sections)
    # one setting read from a section is seen as that setting (the features stage lists train.refit, not train)
    _, sections, _ = stage_code("features")
    assert "train.refit" in sections and "train" not in sections


# Layers, bottom to top: a module imports only from its own layer or a lower one.
LAYERS = ["churn_portable", "churn.extras", "churn.vocab", "churn.config", "churn.data", "churn.features", "churn.model", "churn.score", "churn.action",
          "churn.monitor", "churn.report", "churn.cluster", "churn.ops", "churn.runners", "churn.terminal", "churn.console", "churn.cli"]


def _layer(module: str) -> int:
    return next(i for i, name in enumerate(LAYERS) if module == name or module.startswith(name + "."))


def _modules() -> list[str]:
    return sorted(module_name(p) for package in PACKAGES for p in (SRC / package).rglob("*.py")
                  if module_name(p) != "churn")


def _imports(module: str) -> list[tuple[str, str]]:
    """(imported module, the import statement) for every import of a churn module or of pipelines."""
    found = []
    for n in ast.walk(_tree(module_path(module))):
        if isinstance(n, ast.ImportFrom) and n.module and not n.level:
            found.append((n.module, ast.unparse(n)))
        elif isinstance(n, ast.Import):
            found += [(a.name, ast.unparse(n)) for a in n.names]
    return [(m, s) for m, s in found if m.split(".")[0] in (*PACKAGES, "pipelines")]


def test_every_module_has_a_layer():
    assert [m for m in _modules() if not any(m == n or m.startswith(n + ".") for n in LAYERS)] == []


@pytest.mark.parametrize("module", _modules())
def test_imports_go_only_downward_and_through_each_package_face(module):
    upward, private, orchestration = [], [], []
    for target, statement in _imports(module):
        if target.split(".")[0] == "pipelines":
            if module != "churn.cli":
                orchestration.append(statement)
            continue
        if target == "churn":  # `from churn import x`: the layer of x
            target = f"churn.{statement.split(' import ')[1].split(' as ')[0].split(',')[0].strip()}"
        if _layer(target) > _layer(module):
            upward.append(statement)
        package = ".".join(target.split(".")[:2 if target.startswith("churn.") else 1])
        if target != package and target.count(".") >= package.count(".") + 1 and not module.startswith(package + ".") \
                and module != package and (target.count(".") >= 2 or package == "churn_portable"):
            private.append(statement)
    assert not upward, f"{module} imports a layer above it: {upward}"
    assert not private, f"{module} reaches inside another package instead of its public face: {private}"
    assert not orchestration, f"{module} imports pipelines/ (only churn.cli may): {orchestration}"


def test_no_import_circles():
    graph = {m: set() for m in _modules()}
    for module in graph:
        for target, statement in _imports(module):
            names = statement.split(" import ")[1].split(",") if statement.startswith("from ") else []
            # the module named, or the submodules a `from package import module` names
            for t in [target, *(f"{target}.{n.split(' as ')[0].strip()}" for n in names)]:
                if t in graph and t != module:
                    graph[module].add(t)
    # A package's face imports its modules; a module importing its own package's face closes a circle.
    seen, stack, circles = set(), [], []

    def visit(node):
        if node in stack:
            circles.append(stack[stack.index(node):] + [node])
            return
        if node in seen:
            return
        seen.add(node)
        stack.append(node)
        for nxt in sorted(graph[node]):
            visit(nxt)
        stack.pop()

    for node in sorted(graph):
        visit(node)
    assert not circles, f"import circles: {circles[:3]}"


def _from_imports(path: Path) -> list[tuple[str, str, int]]:
    """(module, name, line) of every `from churn... import name` in a file, inside functions too."""
    found = []
    for n in ast.walk(_tree(path)):
        if isinstance(n, ast.ImportFrom) and n.module and not n.level and n.module.split(".")[0] == "churn":
            found += [(n.module, a.name, n.lineno) for a in n.names if a.name != "*"]
    return found


def test_every_imported_name_exists():
    # Imports inside functions run only when the function does: a name a face no longer offers (a module made
    # private, a function renamed) would fail in a user's run, not at import time. Resolve them all here.
    import importlib

    files = [*(SRC / "churn").rglob("*.py"), *(ROOT / "pipelines").rglob("*.py"), *(ROOT / "tests").rglob("*.py"),
             *(ROOT / "benchmarks").glob("*.py")]
    missing = []
    for path in files:
        for module, name, line in _from_imports(path):
            target = importlib.import_module(module)
            if not hasattr(target, name) and module_path(f"{module}.{name}") is None:
                missing.append(f"{path.relative_to(ROOT)}:{line}: {module} has no {name}")
    assert not missing, "\n".join(missing)
