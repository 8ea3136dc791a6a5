"""Shared fixtures: paths to the project's sample data and to the optional ../shared data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import paths


@pytest.fixture(autouse=True)
def _no_api_keys(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Tests never reach a real model: API keys are removed unless the test is marked live."""
    if request.node.get_closest_marker("live") is None:
        for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture(autouse=True)
def _no_model_requests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Real LLM clients raise ModelError unless the test is marked live (fakes still work)."""
    from memex_audit.llm import allow_model_requests

    with allow_model_requests(request.node.get_closest_marker("live") is not None):
        yield


@pytest.fixture
def shared_data() -> Path:
    """The public trajectories beside the project (skipped when missing, a failure when CI=true)."""
    return paths.shared_data()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("ANTHROPIC_API_KEY"):
        return
    skip_live = pytest.mark.skip(reason="live test: set ANTHROPIC_API_KEY to run it")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip_live)
