"""Benchmark data from ModelScope's copies, for when the Hugging Face hub is unreachable.

`mathmind eval --data-source modelscope` fills the --data-dir layout from the copies ModelScope's own
evaluator (evalscope) uses, with the hub datasets' field names:
  gsm8k  AI-ModelScope/gsm8k  subset main        test, train (few-shot)   question, answer
  mgsm   evalscope/mgsm       subset <lang>      test, train (few-shot)   question, answer, answer_number
  mmlu   cais/mmlu            subset <subject>   test, dev (few-shot)     question, subject, choices, answer
`--modelscope-dataset KIND=OWNER/NAME` points a kind at another copy. A file already in --data-dir is
used as it is (the cache); otherwise the dataset repo comes from ModelScope's cache (`local_files_only`,
instant) or, on a miss and unless MATHMIND_OFFLINE is set, is downloaded into it; the split's files are
read through MsDataset and written as jsonl.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from mathmind.errors import UserError
from mathmind.jsonl import write_text_atomic

MODELSCOPE_DATASETS = {"gsm8k": "AI-ModelScope/gsm8k", "mgsm": "evalscope/mgsm", "mmlu": "cais/mmlu"}
DATA_EXTENSIONS = (".parquet", ".jsonl", ".json", ".csv")


def parse_overrides(specs: list[str]) -> dict[str, str]:
    datasets = dict(MODELSCOPE_DATASETS)
    for spec in specs:
        kind, _, repo = spec.partition("=")
        if kind not in MODELSCOPE_DATASETS or "/" not in repo:
            raise UserError(f"--modelscope-dataset {spec!r}: expected KIND=OWNER/NAME with KIND one of "
                            f"{', '.join(MODELSCOPE_DATASETS)}")
        datasets[kind] = repo
    return datasets


def _snapshot(repo: str) -> Path:
    try:
        from modelscope.hub.snapshot_download import snapshot_download
    except ImportError:
        raise UserError("--data-source modelscope needs ModelScope: pip install 'mathmind[modelscope]'") from None

    try:
        return Path(snapshot_download(repo_id=repo, repo_type="dataset", local_files_only=True))
    except Exception:
        if os.environ.get("MATHMIND_OFFLINE", "") not in ("", "0"):
            raise UserError(f"modelscope dataset {repo} is not in the ModelScope cache "
                            f"({os.environ.get('MODELSCOPE_CACHE', '~/.cache/modelscope')}) and MATHMIND_OFFLINE is set; "
                            f"pass --data-dir with local copies instead") from None
    print(f"eval: downloading the ModelScope dataset {repo}", file=sys.stderr)
    try:
        return Path(snapshot_download(repo_id=repo, repo_type="dataset"))
    except Exception as e:
        raise UserError(f"modelscope dataset {repo}: download failed ({type(e).__name__}: {str(e)[:200]}); "
                        f"pass --data-dir with local copies instead") from None


def _split_files(folder: Path, subset: str, split: str) -> list[Path]:
    """The data files of one subset and split: the subset and the split named as path parts or file-name words."""
    def named(word: str, rel: str) -> bool:
        return re.search(rf"(?:^|[/_.-]){re.escape(word)}(?:$|[/_.-])", rel) is not None

    files = [p for p in sorted(folder.rglob("*")) if p.suffix in DATA_EXTENSIONS and p.is_file()]
    return [p for p in files if named(subset, str(p.relative_to(folder))) and named(split, p.name)]


def _read(files: list[Path]) -> list[dict]:
    from modelscope import MsDataset

    rows: list[dict] = []
    for path in files:
        rows += [dict(row) for row in MsDataset.load(str(path))]
    return rows


def fetch(tasks: list[str], data_dir: Path, datasets: dict[str, str]) -> list[str]:
    """Write each task's missing split files into DATA_DIR from ModelScope; returns notes on what came from where."""
    from mathmind.eval.tasks import DATA_FILES, _mgsm_lang, data_kind

    notes, snapshots = [], {}
    for task in tasks:
        kind = data_kind(task)
        if kind not in datasets:
            raise UserError(f"--data-source modelscope: no ModelScope copy known for {task} (known: gsm8k, mgsm, mmlu); "
                            f"put it in --data-dir as {DATA_FILES['other']['test'][0].format(task=task)}")
        subset = "main" if kind == "gsm8k" else _mgsm_lang(task) if kind == "mgsm" else task[len("mmlu_"):]
        fetched = []
        for split, names in DATA_FILES[kind].items():
            target = data_dir / names[0].format(lang=subset, subject=subset, task=task)
            if any((data_dir / n.format(lang=subset, subject=subset, task=task)).is_file() for n in names):
                continue
            repo = datasets[kind]
            if repo not in snapshots:
                snapshots[repo] = _snapshot(repo)
            files = _split_files(snapshots[repo], subset, split)
            if not files:
                if split == "test":
                    raise UserError(f"modelscope dataset {repo} ({snapshots[repo]}): no {split} file for subset {subset!r}")
                continue                                   # no few-shot split: the task says so when it needs one
            rows = _read(files)
            write_text_atomic(target, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))
            fetched.append(f"{split} {len(rows):,} rows")
        if fetched:
            notes.append(f"{task}: {', '.join(fetched)} from modelscope:{datasets[kind]} (subset {subset})")
    return notes
