"""How an audit on an executor cuts its units into jobs: whole task groups, a few small ones per job."""

from __future__ import annotations

from memex_audit.auditor._indexed import JOB_BYTES, JOB_UNITS, IndexedUnit, _jobs_of
from memex_audit.loaders import IndexEntry
from memex_audit.runs import Unit


def _entry(task: str, length: int) -> IndexEntry:
    return IndexEntry(
        path="f.jsonl",
        offset=0,
        length=length,
        line=1,
        id=f"{task}-x",
        task_id=task,
        success=False,
        source_file=None,
        source_line=None,
        source_position=None,
    )


def _units(tasks: dict[str, int]) -> list[Unit[IndexedUnit]]:
    return [
        Unit(key=f"{task}/{n}", payload=IndexedUnit(f"{task}/{n}", task, n))
        for task, count in tasks.items()
        for n in range(count)
    ]


def test_small_task_groups_share_a_job_and_a_group_is_never_split() -> None:
    counts = {f"t{n}": 1 + n % 3 for n in range(20)}
    tasks = {task: [_entry(task, 1000)] for task in counts}
    jobs = _jobs_of(_units(counts), tasks)
    assert set(jobs) == set(counts)  # every task has a job
    members: dict[str, list[str]] = {}
    for task, job in jobs.items():
        members.setdefault(job, []).append(task)
    assert 1 < len(members) < len(counts)  # fewer jobs than task groups
    for job, its_tasks in members.items():
        units = sum(counts[t] for t in its_tasks)
        # a job stops growing once it holds JOB_UNITS failed rollouts; its name is its first task
        assert units - counts[its_tasks[-1]] < JOB_UNITS and job == its_tasks[0]
    # consecutive tasks: a job's tasks are adjacent in the order the units come
    order = list(counts)
    for its_tasks in members.values():
        first = order.index(its_tasks[0])
        assert its_tasks == order[first : first + len(its_tasks)]


def test_big_task_groups_go_alone() -> None:
    counts = {"big1": 1, "big2": 1, "small": 1}
    tasks = {
        "big1": [_entry("big1", JOB_BYTES)],
        "big2": [_entry("big2", JOB_BYTES // 2 + 1)],
        "small": [_entry("small", 10)],
    }
    jobs = _jobs_of(_units(counts), tasks)
    assert jobs["big1"] == "big1" and jobs["big2"] == "big2"  # each over the byte budget with another
    assert jobs["small"] == "big2"  # a small one still fits beside the second
