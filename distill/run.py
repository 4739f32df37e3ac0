"""The distill job: stream questions, ask the teacher concurrently, append each answer as it lands.

Resumable by construction: the output file is the progress record. A re-run reads the ids already
there (after cutting a line torn by a crash) and asks only for the rest; failures of the previous
run, listed in `<out>.errors.jsonl`, are simply not done yet and are asked again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from tqdm import tqdm

from mathmind.distill.prompts import Prompt
from mathmind.distill.teacher import Teacher, TeacherSettings
from mathmind.jsonl import JsonlAppender, iter_jsonl, repair_torn_tail

# The record each output line holds. Stable: later stages and users' scripts read these names.
RECORD_FIELDS = ("id", "question", "gold", "prompt", "reasoning", "answer", "finish_reason", "usage", "model",
                 "latency_s", "attempts")
# distill's records also hold `source`: the question's row in the source data (its other columns), carried unchanged
# through later steps that read these records as their questions, so their prompts can use those columns too.


@dataclass
class Job:
    id: str
    question: str
    gold: Any
    prompt_text: str
    source: dict[str, Any] = field(default_factory=dict)


@dataclass
class Summary:
    total: int
    skipped: int
    done: int
    failed: int
    retries: dict[str, int]
    failures: dict[str, int]
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    elapsed_s: float
    cost: float | None
    concurrency_end: int
    concurrency_cuts: int

    def lines(self) -> list[str]:
        rate = self.done / self.elapsed_s if self.elapsed_s else 0.0
        out = [f"questions x samples: {self.total}; already done before this run: {self.skipped}",
               f"done now: {self.done} in {self.elapsed_s:.1f} s ({rate:.2f}/s); failed: {self.failed}",
               f"tokens: prompt {self.prompt_tokens}, completion {self.completion_tokens} "
               f"(reasoning {self.reasoning_tokens})",
               f"retries: {sum(self.retries.values())} {dict(self.retries) or ''}".rstrip(),
               f"failures: {dict(self.failures) or 'none'}"]
        if self.concurrency_cuts:
            out.append(f"concurrency cut {self.concurrency_cuts} time(s) for 429s; {self.concurrency_end} at the end")
        if self.cost is not None:
            out.append(f"estimated cost: {self.cost:.4f} (at the prices given per million tokens)")
        return out


def errors_path(out: Path) -> Path:
    return out.with_name(out.name.removesuffix(".jsonl") + ".errors.jsonl")


def done_ids(out: Path) -> set[str]:
    repair_torn_tail(out)
    if not out.exists():
        return set()
    return {record["id"] for _, record in iter_jsonl(out) if "id" in record}


def make_jobs(triples: Iterator[tuple[Any, str, Any]], prompt: Prompt, samples: int, skip: set[str]) -> Iterator[Job]:
    for row, question, gold in triples:
        # A row that is a record of an earlier step (it has `source`) fills the prompt from its own fields first
        # ({answer}, {reasoning}: that step's answer), then from the original columns it carries.
        carried = row.fields.get("source")
        source = carried if isinstance(carried, dict) else {k: v for k, v in row.fields.items() if k != "question"}
        text = prompt.render({**source, **row.fields, "question": question}, row.where)
        for sample in range(samples):
            job_id = f"{row.key}#{sample}"
            if job_id not in skip:
                yield Job(job_id, question, gold, text, source)


async def distill_async(jobs: Iterator[Job], total: int, skipped: int, out: Path, prompt_name: str,
                        settings: TeacherSettings, api_key: str, concurrency: int,
                        price_in: float | None = None, price_out: float | None = None,
                        progress: bool = True) -> Summary:
    teacher = Teacher(settings, api_key, concurrency)
    errors_file = errors_path(out)
    errors_file.unlink(missing_ok=True)  # every id listed there is not done, so it is asked again now
    started = time.monotonic()
    done = failed = 0
    bar = tqdm(total=total, initial=skipped, unit="q", disable=not progress, dynamic_ncols=True, smoothing=0.05)
    queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=concurrency * 2)  # input stays streamed

    def show() -> None:
        s = teacher.stats
        bar.set_postfix_str(f"tok={s.prompt_tokens + s.completion_tokens} retries={sum(s.retries.values())} "
                            f"failed={failed} conc={teacher.limit.limit}", refresh=False)

    async def feed() -> None:
        for job in jobs:
            await queue.put(job)
        for _ in range(concurrency):
            await queue.put(None)

    async def work(answers: JsonlAppender, errors: JsonlAppender) -> None:
        nonlocal done, failed
        while (job := await queue.get()) is not None:
            result, failure = await teacher.ask(job.prompt_text)
            base = {"id": job.id, "question": job.question, "gold": job.gold, "prompt": prompt_name}
            if result is not None:
                record = {**base, **result}
                answers.write({**{name: record[name] for name in RECORD_FIELDS}, "source": job.source})
                done += 1
            else:
                errors.write({**base, **failure})
                failed += 1
            bar.update(1)
            show()

    try:
        with JsonlAppender(out) as answers, JsonlAppender(errors_file) as errors:
            tasks = [asyncio.create_task(feed())] + [asyncio.create_task(work(answers, errors)) for _ in range(concurrency)]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
    finally:
        bar.close()
        await teacher.close()
        if errors_file.exists() and errors_file.stat().st_size == 0:
            errors_file.unlink()
    s = teacher.stats
    cost = None
    if price_in is not None or price_out is not None:
        cost = (s.prompt_tokens * (price_in or 0) + s.completion_tokens * (price_out or 0)) / 1e6
    return Summary(total=total, skipped=skipped, done=done, failed=failed, retries=dict(s.retries),
                   failures=dict(s.failures), prompt_tokens=s.prompt_tokens, completion_tokens=s.completion_tokens,
                   reasoning_tokens=s.reasoning_tokens, elapsed_s=time.monotonic() - started, cost=cost,
                   concurrency_end=teacher.limit.limit, concurrency_cuts=teacher.limit.cuts)

