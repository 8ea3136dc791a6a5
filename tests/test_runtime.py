"""The process's runtime: pydantic's plugin search is skipped only when it could find nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from memex_audit import _runtime
from memex_audit._runtime import PYDANTIC_PLUGINS_VARIABLE, skip_empty_plugin_search


def _site(tmp_path: Path, entry_points: dict[str, str]) -> Path:
    site = tmp_path / "site-packages"
    for name, text in entry_points.items():
        folder = site / f"{name}-1.0.dist-info"
        folder.mkdir(parents=True)
        (folder / "entry_points.txt").write_text(text)
    (site / "plain-2.0.dist-info").mkdir(parents=True)  # no entry points at all
    return site


@pytest.fixture
def no_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PYDANTIC_PLUGINS_VARIABLE, raising=False)


@pytest.mark.usefixtures("no_variable")
def test_no_declared_plugin_tells_pydantic_there_are_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = _site(tmp_path, {"tool": "[console_scripts]\ntool = tool:main\n"})
    monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / "missing")])
    assert skip_empty_plugin_search()
    import os

    assert os.environ[PYDANTIC_PLUGINS_VARIABLE] == "__all__"


@pytest.mark.usefixtures("no_variable")
def test_a_declared_plugin_is_left_to_pydantic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site(tmp_path, {"observer": "[pydantic]\nobserver = observer.plugin:plugin\n"})
    monkeypatch.setattr(sys, "path", [str(site)])
    assert not skip_empty_plugin_search()
    import os

    assert PYDANTIC_PLUGINS_VARIABLE not in os.environ


@pytest.mark.usefixtures("no_variable")
def test_distributions_that_cannot_be_read_directly_are_left_to_pydantic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = tmp_path / "bundle.zip"
    archive.write_bytes(b"PK")
    monkeypatch.setattr(sys, "path", [str(archive)])
    assert not skip_empty_plugin_search()

    class DistributionHook:
        def find_distributions(self, *args: object) -> list[object]:
            return []

    monkeypatch.setattr(sys, "path", [str(_site(tmp_path, {}))])
    monkeypatch.setattr(sys, "meta_path", [DistributionHook(), *sys.meta_path])
    assert not skip_empty_plugin_search()


def test_a_variable_already_set_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PYDANTIC_PLUGINS_VARIABLE, "observer")
    assert not skip_empty_plugin_search()
    assert _runtime.os.environ[PYDANTIC_PLUGINS_VARIABLE] == "observer"
