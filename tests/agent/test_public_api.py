"""The public names of the agent and kernel packages are deliberate: this test pins them."""

from __future__ import annotations

import memex_audit.agent
import memex_audit.kernel


def test_agent_and_kernel_exports() -> None:
    for module in (memex_audit.agent, memex_audit.kernel):
        for name in module.__all__:
            assert hasattr(module, name), name
    assert {"Agent", "RunResult", "Budget", "SubAgentError"} <= set(memex_audit.agent.__all__)
    assert {"MemoryConfig", "Experience", "SkillLibrary", "Skill", "TodoItem"} <= set(
        memex_audit.agent.__all__
    )
    assert {"Kernel", "ExecutionResult", "InProcessKernel", "SubprocessKernel", "FakeKernel"} <= set(
        memex_audit.kernel.__all__
    )
