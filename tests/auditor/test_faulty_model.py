"""A model server that fails in every way a real one does cannot take an audit down: each failure
is recorded with its cause, the rest goes on, and a rerun resumes without duplicates.

The server runs on 127.0.0.1 and is reached through the real openai SDK.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from memex_audit.auditor import AuditReport, AuditRunner
from memex_audit.llm import OpenAICompatibleClient, RetryPolicy, allow_model_requests
from memex_audit.runs import RunStore
from memex_audit.taxonomy import load_taxonomy
from tests.auditor.test_runner import _collection
from tests.fake_openai import FakeOpenAI, Reply, ok

GOOD = "Nothing to see.\n```python\nsubmit({'primary': 'unclassified', 'explanation': 'probe', 'confidence': 0.0})\n```"
NO_CODE = "I think the answer is wrong, but I will not write code."
INVENTED = (
    "```python\nprint(target.final_answer)\n```\nOutput: 3,531\n"
    "```python\nsubmit({'primary': 'execution', 'explanation': 'made up', 'confidence': 0.9})\n```"
)
FAULTS = ["500", "429", "garbage", "drop", "no_code", "ok", "invented", "ok", "500", "ok"]
"""What the n-th request gets, cycling: HTTP errors, a rate limit, a body that is not JSON, a
dropped connection, replies without code or with an invented observation, and good replies."""


class FaultyServer(FakeOpenAI):
    def __init__(self) -> None:
        self.counter = itertools.count()
        self.seen: Counter[str] = Counter()
        lock = threading.Lock()

        def respond(body: dict[str, Any]) -> Reply:
            with lock:
                fault = FAULTS[next(self.counter) % len(FAULTS)]
                self.seen[fault] += 1
            if fault == "drop":
                return None
            if fault in ("500", "429"):
                error = json.dumps(
                    {"error": {"message": f"injected {fault}", "type": "server_error"}}
                ).encode()
                return int(fault), {"retry-after": "0"} if fault == "429" else {}, error
            if fault == "garbage":
                return 200, {}, b"{this is not json"
            return ok(body, {"no_code": NO_CODE, "invented": INVENTED}.get(fault, GOOD))

        super().__init__(respond)
        self.start()


def _client(url: str) -> OpenAICompatibleClient:
    policy = RetryPolicy(max_retries=1, initial_delay_s=0.01, max_delay_s=0.02)
    return OpenAICompatibleClient(url, "faulty-model", api_key="test", retry=policy, timeout_s=5.0)


@pytest.mark.slow
def test_every_failure_is_recorded_the_rest_goes_on_and_a_rerun_resumes(tmp_path: Path) -> None:
    server = FaultyServer()
    try:
        trajs = _collection()
        failed_ids = {t.id for t in trajs if t.failed}
        store = RunStore.open(tmp_path / "run", kind="audit")
        runner = AuditRunner(load_taxonomy("memex"), model=_client(server.url), concurrency=3, max_turns=4)
        with allow_model_requests(True):  # the server is on this machine
            first = runner.run_sync(trajs, store)
        assert first.audited + first.errors == len(failed_ids)  # nothing lost, nothing crashed
        assert {"500", "429", "garbage", "drop", "no_code", "invented"} <= set(server.seen)
        for error in store.read_errors():
            assert error.message  # each failure says what went wrong
        with allow_model_requests(True):
            again = runner.run_sync(trajs, store)
        assert again.skipped >= first.audited
        keys = [
            json.loads(line)["key"] for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()
        ]
        assert len(keys) == len(set(keys))  # a rerun never audits a trajectory twice
        reports = store.read_results(AuditReport)
        assert {r.trajectory.id for r in reports} <= failed_ids
        invented = [r for r in reports if r.primary == "execution"]
        assert not invented  # a verdict after an invented observation was never submitted
    finally:
        server.stop()
