"""Packaging: ranges in pyproject.toml, exact pins only in requirements.lock, and the optional parts as extras
that the core never needs."""

import subprocess
import sys
import tomllib

from helpers import ROOT
from packaging.requirements import Requirement

from churn.extras import EXTRAS

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
LOCKED = {Requirement(line.split(";")[0]).name.lower(): line.split("==")[1].split(";")[0].strip()
          for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()
          if line and not line.startswith((" ", "#"))}


def requirements(group: str | None = None) -> list[Requirement]:
    lines = PROJECT["dependencies"] if group is None else PROJECT["optional-dependencies"][group]
    return [Requirement(line) for line in lines]


def test_the_project_states_ranges_and_the_lock_pins_versions_inside_them():
    every = requirements() + [r for group in PROJECT["optional-dependencies"] for r in requirements(group)]
    pinned = [str(r) for r in every if any(s.operator == "==" for s in r.specifier)]
    assert pinned == []
    outside = [f"{r.name} {LOCKED[r.name.lower()]} not in {r.specifier}" for r in every
               if r.name != "churn" and not r.specifier.contains(LOCKED[r.name.lower()])]
    assert outside == []


def test_each_optional_library_comes_with_the_extra_churn_names_and_the_lock_has_them_all():
    distributions = {"psycopg": "psycopg", "adbc_driver_postgresql": "adbc-driver-postgresql",
                     "sklift": "scikit-uplift", "dvc": "dvc",
                     # distributed comes with dask's own `distributed` extra: the requirement churn names is dask's
                     "dask": "dask", "distributed": "dask", "prefect_dask": "prefect-dask"}
    for module, extra in EXTRAS.items():
        assert distributions[module] in {r.name for r in requirements(extra)}, (module, extra)
        assert distributions[module] not in {r.name for r in requirements()}  # not a core dependency
    test = {str(r) for r in requirements("test")}
    assert any(r.startswith("churn[") and set(EXTRAS.values()) <= set(r[6:].split("]")[0].split(","))
               for r in test)  # `make venv` (the lock, made with --extra test) installs every extra
    assert set(distributions.values()) <= set(LOCKED)


def test_churn_imports_and_runs_its_cli_without_any_extra():
    blocked = "; ".join(f"sys.modules[{m!r}] = None" for m in (*EXTRAS, "sklift.metrics"))
    code = (f"import sys; {blocked}\n"
            "import churn.cli, churn.runners, churn.action, churn.ops, churn.report, pipelines.scoring\n"
            "from typer.testing import CliRunner\n"
            "result = CliRunner().invoke(churn.cli.app, ['--version'])\n"
            "assert result.exit_code == 0, result.output\n"
            "print(result.output)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("churn ")
