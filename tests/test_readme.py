"""The README a newcomer follows: its quickstart runs as written, its links lead somewhere, every section is in its
contents, and the template config it points to loads once copied where it says."""

import os
import re
import shutil
import subprocess

import pandas as pd
import pytest
from helpers import ROOT

from churn.config import load_config

README = (ROOT / "README.md").read_text(encoding="utf-8")


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens (CJK kept)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_of_the_readme_leads_somewhere_and_every_section_is_in_its_contents():
    anchors = {anchor(h) for h in re.findall(r"^#{2,4} (.+)$", README, flags=re.M)}
    broken = [a for a in re.findall(r"\]\(#([^)]+)\)", README) if a not in anchors]
    assert broken == []
    missing = [p for p in re.findall(r"\]\(((?:docs|configs)/[^)#]+)\)", README) if not (ROOT / p).exists()]
    assert missing == []
    contents = README.split("## Contents", 1)[1].split("\n## ", 1)[0]
    sections = re.findall(r"^## (.+)$", README, flags=re.M)
    after_contents = sections[sections.index("Contents") + 1:]  # (the quickstart comes before it)
    assert [h for h in after_contents if f"(#{anchor(h)})" not in contents] == []


def test_every_link_of_the_docs_leads_somewhere():
    anchors = {anchor(h) for h in re.findall(r"^#{2,4} (.+)$", README, flags=re.M)}
    broken = []
    for doc in sorted((ROOT / "docs").glob("*.md")):
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            path, _, fragment = target.partition("#")
            if path and not (doc.parent / path).exists():
                broken.append(f"{doc.name}: {target}")
            elif path.endswith("README.md") and fragment and fragment not in anchors:
                broken.append(f"{doc.name}: {target}")
    assert broken == []


def test_the_template_config_loads_once_copied_into_configs(tmp_path):
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    shutil.copy(ROOT / "configs/templates/business.yaml", tmp_path / "configs/my_business.yaml")
    cfg = load_config(tmp_path / "configs/my_business.yaml")
    defaults = load_config(ROOT / "configs/params.yaml")
    assert cfg.tracking.uri != defaults.tracking.uri  # its own MLflow store
    assert cfg.source.location == defaults.source.location  # as copied: the demo's database
    assert cfg.train == defaults.train  # the rest: the defaults


@pytest.mark.slow(minutes=3)
def test_the_quickstart_runs_as_written(tmp_path, prefect_server):
    from prefect.settings import PREFECT_API_URL

    block = README.split("<!-- quickstart:start -->", 1)[1].split("<!-- quickstart:end -->", 1)[0]
    commands = block.split("```bash\n", 1)[1].split("```", 1)[0]
    # a project as a fresh clone has it after `make venv`: its configs and its .venv
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_", "VIRTUAL_ENV"))}
    env |= {"PREFECT_API_URL": PREFECT_API_URL.value(), "COLUMNS": "120", "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", commands], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=1500)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert (tmp_path / "configs/my_business.yaml").exists() and (tmp_path / "my-mlflow.db").exists()
    out = tmp_path / "data/my_business"
    listing = pd.read_csv(out / "retention_list.csv")
    assert len(listing) > 100 and listing["customer_id"].is_unique
    assert (out / "report.html").exists() and (out / "retention_list.xlsx").exists()
    assert "Traceback" not in done.stdout + done.stderr
