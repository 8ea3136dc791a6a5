from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

from memex_audit.llm import (
    ChatMessage,
    LLMRequest,
    ScriptedModel,
    UsageLedger,
    allow_model_requests,
    model_requests_allowed,
)
from memex_audit.trajectory import Usage


def test_tests_run_with_real_requests_off() -> None:
    assert model_requests_allowed() is False  # tests/conftest.py switches them off


def test_switch_as_call_and_context_manager_restores() -> None:
    with allow_model_requests(True):
        assert model_requests_allowed() is True
        with allow_model_requests(False):
            assert model_requests_allowed() is False
        assert model_requests_allowed() is True
    assert model_requests_allowed() is False


def test_fakes_work_with_requests_off() -> None:
    with allow_model_requests(False):
        reply = asyncio.run(
            ScriptedModel(["fine"]).complete(
                LLMRequest(system="", messages=[ChatMessage(role="user", content="x")])
            )
        )
    assert reply.text == "fine"


def test_ledger_sums_per_model_across_threads() -> None:
    ledger = UsageLedger()

    def work() -> None:
        for _ in range(500):
            ledger.add("a", Usage(input_tokens=2, output_tokens=1, cost_usd=0.001))
            ledger.add("b", Usage(input_tokens=1), cached=True)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals = ledger.by_model()
    assert list(totals) == ["a", "b"]
    assert totals["a"].calls == 2000 and totals["a"].usage.input_tokens == 4000
    assert abs((totals["a"].usage.cost_usd or 0) - 2.0) < 1e-9
    assert totals["b"].cached_calls == 2000 and totals["b"].usage.cost_usd is None
    assert ledger.total().total_tokens == 4000 + 2000 + 2000


def test_environment_variable_sets_the_initial_state() -> None:
    code = "from memex_audit.llm import model_requests_allowed as m; print(m())"
    for value, expected in (("0", "False"), ("false", "False"), ("1", "True")):
        env = {**os.environ, "MEMEX_AUDIT_ALLOW_MODEL_REQUESTS": value}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected
