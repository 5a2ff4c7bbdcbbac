"""An optional library that is not installed fails naming the extra that installs it."""

import sys

import numpy as np
import pytest

from churn.action import qini_report
from churn.config import SourceConfig
from churn.extras import MissingExtra
from churn.ops import io


def test_the_uplift_check_without_scikit_uplift_names_the_uplift_extra(monkeypatch):
    y, t = np.array([0, 1, 0, 1, 1, 0, 1, 0]), np.array([1, 1, 0, 0, 1, 0, 1, 0])
    assert qini_report(y, np.linspace(0, 1, 8), t, bins=2)["source"] == "sklift.metrics"
    for name in ("sklift", "sklift.metrics"):
        monkeypatch.setitem(sys.modules, name, None)  # what Python does for a module that cannot be imported
    with pytest.raises(MissingExtra, match=r"uplift check\) needs sklift.*pip install \"churn\[uplift\]\""):
        qini_report(y, np.linspace(0, 1, 8), t, bins=2)


def test_a_postgresql_source_without_psycopg_names_the_postgres_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(MissingExtra, match=r"database postgresql\+psycopg needs psycopg.*\"churn\[postgres\]\""):
        io.create_engine("postgresql+psycopg://churn@localhost/crm")


def test_a_driver_that_is_no_extra_fails_as_it_would():
    with pytest.raises(ModuleNotFoundError) as raised:  # not one of churn's extras: SQLAlchemy's own error
        io.create_engine("mysql+mysqldb://churn@localhost/crm")
    assert not isinstance(raised.value, MissingExtra)


def test_a_postgresql_pull_without_adbc_names_the_postgres_extra(monkeypatch, pg_url):
    for name in ("adbc_driver_postgresql", "adbc_driver_postgresql.dbapi"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingExtra, match=r"database postgresql\+psycopg needs adbc_driver_postgresql.*"
                                           r"\"churn\[postgres\]\""):
        io.read_source(SourceConfig(location=pg_url))


def test_the_dask_engine_without_distributed_names_the_dask_extra(monkeypatch):
    from churn.cluster import open_client
    from churn.config import EngineConfig

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtra, match=r"engine: dask needs distributed.*pip install \"churn\[dask\]\""):
        with open_client(EngineConfig(kind="dask")):
            pass


def test_the_local_engine_imports_no_dask():
    import subprocess

    code = ("import sys, churn.cli, churn.runners, churn.cluster, pipelines.training, pipelines.scoring; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'prefect_dask'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
