"""The optional parts of churn: which extra of `pip install "churn[...]"` brings each optional library, and the
error that names the extra when one is missing (`make venv` installs them all, from requirements.lock)."""

from __future__ import annotations

import importlib

# module -> extra (pyproject.toml's [project.optional-dependencies])
EXTRAS = {"psycopg": "postgres", "adbc_driver_postgresql": "postgres", "sklift": "uplift", "dvc": "dvc",
          "dask": "dask", "distributed": "dask", "prefect_dask": "dask"}


class MissingExtra(ImportError):
    """An optional library churn needs for what was asked is not installed."""


def missing_extra(module: str, needed_for: str) -> MissingExtra:
    """The error for an optional library that is not installed: what needs it and the command that installs it."""
    top = module.split(".")[0]
    extra = EXTRAS[top]
    return MissingExtra(f"{needed_for} needs {top}, which is not installed; it comes with churn's `{extra}` extra: "
                        f"pip install \"churn[{extra}]\"")


def require(module: str, needed_for: str):
    """Import an optional library, or fail naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise missing_extra(module, needed_for) from err
