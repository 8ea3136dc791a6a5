"""The offline audit policy: a function model whose replies are code that calls the offline signals.

It is the default without an API key. Its first reply runs the deterministic signals on ``target``
in the kernel, prints them, and submits the verdict they support; if ``submit()`` rejects that, the
next reply submits an ``unclassified`` verdict that says so. Running through the same kernel and
``submit()`` as a model means its results carry the same validation and a recorded run trajectory.
"""

from __future__ import annotations

from memex_audit.llm import FunctionModel, LLMRequest

OFFLINE_POLICY_VERSION = "1"
OFFLINE_POLICY_NAME = f"offline-signals/{OFFLINE_POLICY_VERSION}"

_FIRST_BLOCK = """\
Run the offline signals on the target and submit the verdict they support.

```python
signals = detect_signals(target, task.trajectories, ground_truth=task.ground_truth)
for s in signals:
    print(f"{s.kind:<24} step {s.step:>4}  strength {s.strength:.2f}  {s.detail}")
if not signals:
    print("no signal fired")
verdict = verdict_from_signals(signals, taxonomy, target)
print("verdict:", verdict.primary, "at step", verdict.faulty_step, "by", verdict.faulty_agent)
submit(verdict.model_dump())
```
"""

_FALLBACK_BLOCK = """\
The verdict was not accepted; submit an unclassified verdict that records why.

```python
submit(fallback_verdict(target, "the offline verdict was rejected by submit(): " + {reason!r}))
```
"""


def offline_audit_reply(request: LLMRequest) -> str:
    """The offline audit's next code block: the signal audit on the first turn, the fallback after."""
    if not any(m.role == "assistant" for m in request.messages):
        return _FIRST_BLOCK
    last = request.messages[-1].text() if request.messages else ""
    return _FALLBACK_BLOCK.format(reason=last[-300:])


class OfflineAuditPolicy(FunctionModel):
    """The offline audit as a model: a ``FunctionModel`` of ``offline_audit_reply`` that costs nothing.

    Requests are not kept: one policy serves every audit of a run.

    Attributes:
        model: ``offline-signals/<version>``: the name results record as their producer.
    """

    def __init__(self) -> None:
        super().__init__(offline_audit_reply, model=OFFLINE_POLICY_NAME, cost_usd=0.0, keep_requests=False)
