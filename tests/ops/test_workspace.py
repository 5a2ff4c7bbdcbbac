import os

import pytest

from churn.ops import ALLOWED_ROOTS_ENV, OutsideProjectError, allowed_roots, confine


@pytest.mark.parametrize("path", ["data/work", ".", "data/../data/work", "runs/2026"])
def test_folders_inside_the_project_are_allowed(tmp_path, path):
    assert confine(tmp_path / path, "--workdir", allowed_roots(tmp_path, {})) == (tmp_path / path).resolve()


@pytest.mark.parametrize("path", ["../x", "../../x", "/etc", "data/../../x"])
def test_folders_outside_the_project_are_refused(tmp_path, path, monkeypatch):
    project = tmp_path / "a" / "project"
    project.mkdir(parents=True)
    monkeypatch.chdir(project)
    with pytest.raises(OutsideProjectError, match=rf"--workdir {path} resolves to .* outside the project {project}; "
                                                  rf".*{ALLOWED_ROOTS_ENV}"):
        confine(path, "--workdir", allowed_roots(project, {}))


def test_a_symbolic_link_that_leaves_the_project_is_refused(tmp_path):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "work").symlink_to(elsewhere)
    with pytest.raises(OutsideProjectError, match=f"resolves to {elsewhere}"):
        confine(project / "work", "--workdir", allowed_roots(project, {}))


def test_roots_named_in_the_environment_are_allowed(tmp_path):
    project, big_disk, other = tmp_path / "project", tmp_path / "big", tmp_path / "other"
    roots = allowed_roots(project, {ALLOWED_ROOTS_ENV: f"{big_disk}{os.pathsep}{other}"})
    assert confine(big_disk / "work", "--workdir", roots) == big_disk / "work"
    assert confine(other, "--out", roots) == other
    with pytest.raises(OutsideProjectError):
        confine(tmp_path / "bigger", "--out", roots)  # a name that starts like an allowed root is not inside it
