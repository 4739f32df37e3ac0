"""Where questions come from: ModelScope, Hugging Face, or local files, streamed one row at a time.

  modelscope:modelscope/gsm8k?subset=main&split=train   (MsDataset.load, as seed 002)
  hf:openai/gsm8k?subset=main&split=train               (datasets.load_dataset)
  path/to/file.jsonl | .json | .csv | .parquet | a folder of them

Each row becomes a `Row`: a stable `key` (source name + row index) for ids, `where` (file:line) for
error messages, and the row's fields.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs

from mathmind.errors import UserError
from mathmind.jsonl import iter_csv, iter_jsonl, read_text

LOCAL_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
DEFAULT_ANSWER_FIELDS = ("answer", "answer_number")  # GSM8K, MGSM
OFFLINE_HINT = ("the model/dataset hubs cannot be reached from here; download the data elsewhere and point "
                "--questions at a local .jsonl/.json/.csv/.parquet file or folder")


@dataclass
class Row:
    key: str
    where: str
    fields: dict[str, Any]


@dataclass
class Source:
    spec: str
    rows: Iterator[Row]
    total: int | None


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in
               ("MATHMIND_OFFLINE", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _hub_options(spec: str) -> tuple[str, dict[str, str]]:
    hub_id, _, query = spec.partition("?")
    options = {k: v[-1] for k, v in parse_qs(query).items()}
    unknown = set(options) - {"subset", "name", "split"}
    if unknown:
        raise UserError(f"--questions {spec!r}: unknown option(s) {sorted(unknown)}; use subset=..., split=...")
    return hub_id, options


def _hub_rows(spec: str, dataset: Any) -> Source:
    def rows() -> Iterator[Row]:
        for i, fields in enumerate(dataset):
            yield Row(key=f"{spec}#{i}", where=f"{spec} row {i}", fields=dict(fields))
    try:
        total = len(dataset)
    except TypeError:
        total = None
    return Source(spec, rows(), total)


def _modelscope_load(hub_id: str, subset: str | None, split: str) -> Any:
    from modelscope.msdatasets import MsDataset

    # The client retries 5 times by default (15+ s) before saying the hub is unreachable.
    os.environ.setdefault("MODELSCOPE_API_MAX_RETRIES", "1")
    return MsDataset.load(hub_id, subset_name=subset, split=split)


def _huggingface_load(hub_id: str, subset: str | None, split: str) -> Any:
    import datasets

    return datasets.load_dataset(hub_id, subset, split=split)


# scheme -> (hub name, loader, what to install)
HUBS = {
    "modelscope": ("ModelScope", _modelscope_load, "pip install 'mathmind[modelscope]'"),
    "hf": ("Hugging Face", _huggingface_load, "pip install datasets"),
}


def _hub(scheme: str, spec: str) -> Source:
    hub_name, load, install = HUBS[scheme]
    hub_id, options = _hub_options(spec)
    if _offline():
        raise UserError(f"--questions {scheme}:{spec}: offline mode is set; {OFFLINE_HINT}")
    try:
        dataset = load(hub_id, options.get("subset") or options.get("name"), options.get("split", "train"))
    except ImportError as e:
        raise UserError(f"--questions {scheme}:{spec} needs {hub_name}'s client ({e}): {install}") from None
    except Exception as e:  # noqa: BLE001 - hub clients raise many kinds; all mean "not loaded"
        raise UserError(f"--questions {scheme}:{spec}: {hub_name} could not load it ({type(e).__name__}: "
                        f"{str(e)[:200]}); if {OFFLINE_HINT}") from None
    return _hub_rows(f"{scheme}:{spec}", dataset)


def _file_rows(path: Path, key_prefix: str) -> Iterator[Row]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        for i, (line_no, record) in enumerate(iter_jsonl(path)):
            yield Row(f"{key_prefix}#{i}", f"{path}:{line_no}", record)
    elif suffix == ".json":
        try:
            data = json.loads(read_text(path))
        except json.JSONDecodeError as e:
            raise UserError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            data = data["data"]
        if not isinstance(data, list):
            raise UserError(f"{path}: expected a JSON list of objects")
        for i, record in enumerate(data):
            if not isinstance(record, dict):
                raise UserError(f"{path}: item {i} is not a JSON object")
            yield Row(f"{key_prefix}#{i}", f"{path} item {i}", record)
    elif suffix == ".csv":
        for i, (line_no, record) in enumerate(iter_csv(path)):
            yield Row(f"{key_prefix}#{i}", f"{path}:{line_no}", record)
    elif suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UserError(f"{path}: reading parquet needs pyarrow (pip install pyarrow)") from None
        i = 0
        try:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
                for record in batch.to_pylist():
                    yield Row(f"{key_prefix}#{i}", f"{path} row {i}", record)
                    i += 1
        except (pa.ArrowException, OSError) as e:
            where = f" (after row {i - 1})" if i else ""
            raise UserError(f"{path}: not a readable parquet file{where}: {str(e).strip()[:200]}") from None


def _local(spec: str) -> Source:
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in LOCAL_SUFFIXES)
        if not files:
            raise UserError(f"--questions {spec}: the folder has no {'/'.join(LOCAL_SUFFIXES)} files")
        pairs = [(f, f"{path.name}/{f.name}") for f in files]
    elif path.is_file():
        if path.suffix.lower() not in LOCAL_SUFFIXES:
            raise UserError(f"--questions {spec}: unsupported file type {path.suffix!r} (use {', '.join(LOCAL_SUFFIXES)})")
        pairs = [(path, path.name)]
    else:
        raise UserError(f"--questions {spec}: no such file or folder (hub sources are written modelscope:ID or hf:ID)")

    def rows() -> Iterator[Row]:
        for file, prefix in pairs:
            yield from _file_rows(file, prefix)
    return Source(spec, rows(), None)


def is_hub_source(spec: str) -> bool:
    scheme, sep, _ = spec.partition(":")
    return bool(sep) and scheme in HUBS


def open_source(spec: str) -> Source:
    if is_hub_source(spec):
        scheme, _, rest = spec.partition(":")
        return _hub(scheme, rest)
    return _local(spec)


def question_rows(spec: str, question_field: str = "question", answer_field: str | None = None,
                  limit: int | None = None) -> tuple[Iterator[tuple[Row, str, Any]], int | None]:
    """Validated (row, question, gold) triples, streamed, and the count when known up front.

    Local files are read twice: once to check every row (a bad row deep in a big file is reported
    before any request is paid for) and count them, once to stream.
    """
    source = open_source(spec)
    total = source.total
    if total is None:
        total = 0
        for row in open_source(spec).rows:
            _question_of(row, question_field)
            total += 1
            if limit and total >= limit:
                break
        if total == 0:
            raise UserError(f"--questions {spec}: no questions found (the file is empty)")
    if limit:
        total = min(total, limit)

    def triples() -> Iterator[tuple[Row, str, Any]]:
        for i, row in enumerate(source.rows):
            if limit and i >= limit:
                return
            yield row, _question_of(row, question_field), _gold_of(row, answer_field)
    return triples(), total


def _question_of(row: Row, field: str) -> str:
    value = row.fields.get(field)
    if not isinstance(value, str) or not value.strip():
        have = ", ".join(sorted(row.fields)) or "none"
        raise UserError(f"{row.where}: field {field!r} is missing or empty (fields here: {have}; "
                        f"use --question-field to pick another)")
    return value


def _gold_of(row: Row, field: str | None) -> Any:
    if field:
        if field not in row.fields:
            raise UserError(f"{row.where}: field {field!r} (--answer-field) is missing")
        return row.fields[field]
    return next((row.fields[f] for f in DEFAULT_ANSWER_FIELDS if f in row.fields), None)
