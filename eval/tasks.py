"""Task names and offline data for lm-evaluation-harness.

mathmind's names are the seed's: `mgsm_cot_native` means exactly the 11 `mgsm_native_cot_<lang>` tasks
(lm-eval's tag of that name also pulls the 11 `mgsm_en_cot_*`), `mgsm_direct` exactly the 11
`mgsm_direct_<lang>` (its tag also pulls `mgsm_direct_es_spanish_bench`). Every other name passes through.

With --data-dir, each task gets a YAML that `include`s lm-eval's own packaged YAML and overrides only
where the data comes from (dataset_path: json + data_files), so prompts, filters and metrics stay
lm-eval's. Data files are copied to OUT/data with the hub dataset's field names filled in (MGSM test
rows carry `answer: null`, MMLU answers are indices).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mathmind.errors import UserError
from mathmind.jsonl import iter_jsonl, write_text_atomic

MGSM_LANGS = ("bn", "de", "en", "es", "fr", "ja", "ru", "sw", "te", "th", "zh")
TASK_SETS: dict[str, list[str]] = {
    "mgsm_cot_native": [f"mgsm_native_cot_{lang}" for lang in MGSM_LANGS],
    "mgsm_direct": [f"mgsm_direct_{lang}" for lang in MGSM_LANGS],
}
# Tasks that score loglikelihoods (served models need a completions endpoint and a local tokenizer).
LOGLIKELIHOOD_PREFIXES = ("mmlu",)


def expand_tasks(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        for task in TASK_SETS.get(name, [name]):
            if task not in out:
                out.append(task)
    return out


def family(task: str) -> str:
    """The report's task family: gsm8k, mgsm_direct, mgsm_cot_native, mmlu, or the task itself."""
    for name, members in TASK_SETS.items():
        if task in members:
            return name
    return "mmlu" if task.startswith("mmlu") else task


def is_loglikelihood(task: str) -> bool:
    return task.startswith(LOGLIKELIHOOD_PREFIXES)


def _first(data_dir: Path, candidates: list[str]) -> Path | None:
    return next((data_dir / c for c in candidates if (data_dir / c).is_file()), None)


def _mgsm_lang(task: str) -> str | None:
    for prefix in ("mgsm_direct_", "mgsm_native_cot_", "mgsm_en_cot_"):
        if task.startswith(prefix) and task[len(prefix):] in MGSM_LANGS:
            return task[len(prefix):]
    return None


# Accepted file names in --data-dir per kind of task and split, first found wins ({lang}, {subject}, {task} filled in).
DATA_FILES: dict[str, dict[str, list[str]]] = {
    "gsm8k": {"test": ["gsm8k/test.jsonl", "gsm8k_test.jsonl"],
              "train": ["gsm8k/train.jsonl", "gsm8k_train.jsonl", "gsm8k_train_sample.jsonl"]},
    "mgsm": {"test": ["mgsm/{lang}/test.jsonl", "mgsm/mgsm_{lang}.jsonl", "mgsm_{lang}.jsonl"],
             "train": ["mgsm/{lang}/train.jsonl"]},
    "mmlu": {"test": ["mmlu/{subject}/test.jsonl", "mmlu/{subject}.jsonl"], "dev": ["mmlu/{subject}/dev.jsonl"]},
    "other": {"test": ["{task}/test.jsonl"], "train": ["{task}/train.jsonl"]},
}
# Rows in each benchmark's full few-shot split: anything else draws other examples than published runs do.
FULL_FEWSHOT_ROWS = {"gsm8k": 7473, "mgsm": 8, "mmlu": 5}


def data_kind(task: str) -> str:
    return "gsm8k" if task == "gsm8k" else "mgsm" if _mgsm_lang(task) else "mmlu" if task.startswith("mmlu_") else "other"


def accepted_files() -> str:
    """Every file name --data-dir accepts, one line per kind (for --help)."""
    return "; ".join(f"{kind}: " + ", ".join(f"{split}: {' | '.join(names)}" for split, names in splits.items())
                     for kind, splits in DATA_FILES.items())


def data_files(task: str, data_dir: Path) -> dict[str, Path] | None:
    """The split files in DATA_DIR for a task (names in DATA_FILES), or None when it has no test file."""
    values = {"lang": _mgsm_lang(task) or "", "subject": task[len("mmlu_"):], "task": task}
    splits = {split: _first(data_dir, [name.format(**values) for name in names])
              for split, names in DATA_FILES[data_kind(task)].items()}
    return {k: v for k, v in splits.items() if v} if splits.get("test") else None


def _normalise(task: str, split: str, row: dict[str, Any], where: str) -> dict[str, Any]:
    """Fill in the hub dataset's fields the packaged task reads."""
    if _mgsm_lang(task):
        if "answer_number" not in row:
            raise UserError(f"{where}: MGSM rows need `question` and `answer_number`")
        row.setdefault("answer", None)
        row.setdefault("equation_solution", None)
    elif task == "gsm8k":
        if "answer" not in row or "####" not in str(row["answer"]):
            raise UserError(f"{where}: GSM8K rows need an `answer` ending in '#### N'")
    elif task.startswith("mmlu_"):
        if not {"question", "choices", "answer"} <= set(row):
            raise UserError(f"{where}: MMLU rows need `question`, `choices` (4) and `answer` (0-3 or A-D)")
        if isinstance(row["answer"], str):
            row["answer"] = "ABCD".index(row["answer"].strip().upper())
    return row


def _index_entry(task_manager: Any, name: str) -> tuple[str, str] | None:
    """(kind, yaml path) of a task-index entry; lm-eval 0.4.3 keeps dicts, 0.4.13 `Entry` objects."""
    entry = task_manager.task_index.get(name)
    if entry is None:
        return None
    if isinstance(entry, dict):
        return str(entry.get("type", "")).lower(), str(entry.get("yaml_path", ""))
    return entry.kind.name.lower(), str(entry.yaml_path)


def packaged_yaml(task: str, task_manager: Any) -> str:
    entry = _index_entry(task_manager, task)
    if not entry or entry[0] != "task" or not entry[1].endswith(".yaml"):
        raise UserError(f"task {task!r}: lm-eval has no such task (see `lm-eval ls tasks`)")
    return entry[1]


def _packaged_fewshot(task_manager: Any, task: str) -> int | None:
    entry = task_manager.task_index.get(task)
    cfg = getattr(entry, "cfg", None) or {}
    return cfg.get("num_fewshot")


def mmlu_subjects(task_manager: Any) -> list[str]:
    return sorted(name for name in task_manager.task_index
                  if (e := _index_entry(task_manager, name)) and e[0] == "task" and "/mmlu/default/" in e[1])


def write_offline_tasks(tasks: list[str], data_dir: Path, out: Path, num_fewshot: int | None) -> tuple[list[str], list[str]]:
    """Write task YAMLs over local data into OUT/tasks; returns (tasks to run, notes)."""
    from lm_eval.tasks import TaskManager

    manager = TaskManager()
    run, notes = [], []
    fewshot_sources: dict[str, list[tuple[Path, int, int]]] = {}
    for task in tasks:
        concrete = mmlu_subjects(manager) if task == "mmlu" else [task]
        have = [t for t in concrete if data_files(t, data_dir)]
        if not have:
            raise UserError(f"--data-dir {data_dir}: no data for {task} (see `mathmind eval --help` for the file layout)")
        if task == "mmlu" and len(have) < len(concrete):
            notes.append(f"mmlu: data for {len(have)} of {len(concrete)} subjects; running those subjects, not the mmlu group")
        for t in have:
            files = data_files(t, data_dir)
            local, counts = {}, {}
            for split, path in files.items():
                rows = [_normalise(t, split, dict(r), f"{path}:{n}") for n, r in iter_jsonl(path)]
                target = out / "data" / t / f"{split}.jsonl"
                write_text_atomic(target, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
                local[split] = str(target.resolve())
                counts[split] = len(rows)
            config: dict[str, Any] = {"include": packaged_yaml(t, manager), "task": t, "dataset_path": "json",
                                      "dataset_name": None, "dataset_kwargs": {"data_files": local}}
            fewshot_split = "dev" if t.startswith("mmlu_") else "train"
            shots = num_fewshot if num_fewshot is not None else _packaged_fewshot(manager, t)
            if fewshot_split in local and shots and counts[fewshot_split] < shots:
                raise UserError(f"{files[fewshot_split]}: {t} takes {shots} few-shot examples from it, but it has only "
                                f"{counts[fewshot_split]} rows (add rows, or pass --num-fewshot)")
            if fewshot_split not in local:
                if num_fewshot:
                    raise UserError(f"--num-fewshot {num_fewshot}: {t} has no {fewshot_split} file in --data-dir to draw examples from")
                config.update(training_split=None, fewshot_split=None)
                if t == "gsm8k":
                    config["num_fewshot"] = 0
                    notes.append(f"{t}: no {fewshot_split} file in --data-dir, so 0-shot (lm-eval's gsm8k is 5-shot)")
            elif shots:
                fewshot_sources.setdefault(task, []).append((files[fewshot_split], counts[fewshot_split], shots))
            write_text_atomic(out / "tasks" / f"{t}.yaml", yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
        run += ["mmlu"] if task == "mmlu" and len(have) == len(concrete) else have
    notes += [fewshot_note(task, used) for task, used in fewshot_sources.items()]
    return run, notes


def fewshot_note(task: str, used: list[tuple[Path, int, int]]) -> str:
    """Where a task's few-shot examples come from, and a warning when that is not the benchmark's full split."""
    kind = data_kind(task if task != "mmlu" else "mmlu_x")
    full = FULL_FEWSHOT_ROWS.get(kind)
    shots = used[0][2]
    if len(used) == 1:
        where = f"{used[0][0]} ({used[0][1]:,} rows)"
    else:
        rows = sorted({n for _, n, _ in used})
        where = f"{len(used)} files like {used[0][0]} ({rows[0]:,}-{rows[-1]:,} rows)" if len(rows) > 1 else \
            f"{len(used)} files like {used[0][0]} ({rows[0]:,} rows each)"
    note = f"{task}: {shots}-shot examples drawn from {where}"
    short = [n for _, n, _ in used if full and n != full]
    if short:
        note += (f"; WARNING: the benchmark's full few-shot split has {full:,} rows{' per file' if len(used) > 1 else ''}, "
                 f"so the examples (and the prompts) "
                 f"differ from lm-eval's with the hub data: scores are not comparable with published {task} numbers")
    return note
