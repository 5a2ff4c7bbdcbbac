from pathlib import Path

import pytest
from helpers import CONFIG

from churn.config import ConfigError, load_config


def test_project_config_loads_with_overrides():
    cfg = load_config(CONFIG, **{"labels.horizon_days": 60, "source.location": "/data/x", "labels.active_days": None})
    assert cfg.labels.horizon_days == 60 and cfg.source.location == "/data/x"
    assert cfg.labels.active_days == 180  # None leaves the file's value


@pytest.mark.parametrize("override, message", [
    ({"labels.horizonn_days": 5}, "Extra inputs are not permitted"),
    ({"labels.horizon_days": 0}, "greater than 0"),
    ({"source.tables": {"sales": {}}}, r"unknown canonical table\(s\) \['sales'\]"),
    ({"source.tables": {"orders": {"table": "a", "query": "SELECT 1"}}}, "either `table` or `query`"),
    ({"explain.causes": {"weather": ["x"]}}, r"unknown cause\(s\) \['weather'\]"),
])
def test_bad_config_is_refused(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(CONFIG, **override)


def test_a_bad_config_names_the_file_and_every_setting_at_fault():
    with pytest.raises(ConfigError) as refused:
        load_config(CONFIG, **{"labels.horizon_days": 0, "train.bogus": 1})
    message = str(refused.value)
    assert message.startswith(f"config {CONFIG} is not valid: ")
    assert "labels.horizon_days: Input should be greater than 0 (got 0)" in message
    assert "train.bogus: Extra inputs are not permitted (got 1)" in message
    assert "https://" not in message and "\n" not in message


@pytest.mark.parametrize("text, message", [
    ("train: [unclosed\n", "is not valid YAML"),
    ("- a list\n", "must be a mapping of sections"),
])
def test_an_unreadable_config_is_refused(tmp_path, text, message):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="config file .* not found"):
        load_config(tmp_path / "none.yaml")


def test_a_config_extends_another_and_keeps_the_playbook(tmp_path):
    child = tmp_path / "sources" / "shop.yaml"
    child.parent.mkdir()
    child.write_text(f"extends: {CONFIG}\nlabels: {{horizon_days: 30}}\nsource: {{location: /data/shop}}\n")
    cfg = load_config(child)
    assert cfg.labels.horizon_days == 30 and cfg.labels.active_days == 180  # the rest comes from the base
    assert cfg.source.location == "/data/shop"
    assert Path(cfg.score.playbook).resolve() == (Path(CONFIG).parent / "playbook.yaml").resolve()


def test_a_config_cannot_extend_itself(tmp_path):
    loop = tmp_path / "a.yaml"
    loop.write_text("extends: a.yaml\n")
    with pytest.raises(ValueError, match="extends itself"):
        load_config(loop)


def test_params_yaml_has_no_yaml_dates():
    # DVC writes params to dvc.lock as JSON: an unquoted YAML date (2026-10-01) makes `dvc repro` fail.
    import datetime as dt

    import yaml

    def dates(value, path=""):
        if isinstance(value, dict):
            return [d for k, v in value.items() for d in dates(v, f"{path}.{k}")]
        if isinstance(value, list):
            return [d for i, v in enumerate(value) for d in dates(v, f"{path}[{i}]")]
        return [path] if isinstance(value, dt.date) else []

    assert dates(yaml.safe_load(open("configs/params.yaml", encoding="utf-8"))) == []


@pytest.mark.parametrize("path", sorted((Path(CONFIG).parent / "sources").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_source_config_loads(path):
    cfg = load_config(path)
    assert cfg.source.location and cfg.labels.horizon_days > 0
