"""jsonl and json files on disk: the contract between stages.

Readers name the file and line of any bad record; writers either append whole, flushed lines
(resumable outputs) or replace a file atomically (never half-overwritten).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from mathmind.errors import UserError


def iter_text_lines(path: str | os.PathLike) -> Iterator[tuple[int, str]]:
    """Yield (line_number, text) of a UTF-8 text file, streaming, line ends kept.

    A UTF-8 byte order mark (Excel, Windows editors) is dropped and CRLF line ends read like LF. A
    line that is not UTF-8 raises UserError naming the file, line and byte offset.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    offset = 0
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise UserError(f"{path}:{line_no}: not UTF-8 (byte {raw[e.start]:#04x} at byte offset {offset + e.start} "
                                f"of the file); save it as UTF-8") from None
            if line_no == 1 and text.startswith("\ufeff"):
                text = text[1:]
            offset += len(raw)
            yield line_no, text


def read_text(path: str | os.PathLike) -> str:
    """A whole UTF-8 text file (a BOM dropped); a byte that is not UTF-8 is named by file:line and offset."""
    return "".join(text for _, text in iter_text_lines(path))


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line_number, record) from a jsonl file, streaming; blank lines are skipped.

    A line that is not a JSON object raises UserError naming the file and line.
    """
    for line_no, line in iter_text_lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{path}:{line_no}: not valid JSON ({e.msg} at column {e.colno})") from None
        if not isinstance(record, dict):
            raise UserError(f"{path}:{line_no}: expected a JSON object, got {type(record).__name__}")
        yield line_no, record


def iter_csv(path: str | os.PathLike) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line_number, row) from a CSV file with a header: BOM, CRLF and multi-megabyte fields read
    normally; a malformed row raises UserError naming the file and line."""
    # The default field limit (128 KiB) refuses long questions; 2 GiB fits a C long everywhere.
    csv.field_size_limit(2**31 - 1)
    reader = csv.DictReader(text for _, text in iter_text_lines(path))
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as e:
        raise UserError(f"{path}:{reader.line_num}: not valid CSV ({e})") from None


def check_output_path(path: str | os.PathLike, flag: str) -> None:
    """Fail before any work is done when `path` cannot be written: it is a folder, or a parent is a file."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{flag} {path}: is a folder; give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{flag} {path}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise UserError(f"{flag} {path}: cannot write in {parent} (permission denied)")
            return


def repair_torn_tail(path: str | os.PathLike) -> str | None:
    """Cut off a last line that a crash left unfinished, keeping every whole line.

    A line is whole when it ends in a newline. The torn bytes are moved to `<path>.torn` (appended),
    so nothing is lost, and returned as text; None when the file was already whole.
    """
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return None
    with path.open("rb+") as f:
        size = f.seek(0, os.SEEK_END)
        # Walk back in blocks to the last newline.
        pos, tail = size, b""
        while pos > 0:
            step = min(65536, pos)
            f.seek(pos - step)
            block = f.read(step)
            cut = block.rfind(b"\n")
            if cut >= 0:
                tail = block[cut + 1:] + tail
                pos = pos - step + cut + 1
                break
            tail = block + tail
            pos -= step
        if not tail:
            return None
        with open(f"{path}.torn", "ab") as torn:
            torn.write(tail + b"\n")
        f.truncate(pos)
    return tail.decode("utf-8", errors="replace")


class JsonlAppender:
    """Append records one whole line at a time, flushed at once, so a crash loses at most the line in flight."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_torn_tail(self.path)
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        # One write() call per record: the line goes to the kernel whole or not at all (for a crash of
        # this process; `kill -9` cannot interrupt a single write of a short buffer half-way).
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "JsonlAppender":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _umask() -> int:
    mask = os.umask(0o022)   # the only portable way to read it is to set it; put it straight back
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Replace `path` with `text` in one rename: readers see the old file or the new one, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())   # mkstemp makes 0600; a plain open() would honour the umask
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    write_text_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def read_yaml_mapping(path: Path, what: str) -> dict:
    """A YAML file that must hold a mapping (a recipe, a pipeline), with errors that name the file."""
    import yaml

    if not path.is_file():
        raise UserError(f"{what} {path}: no such file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a {what} is a mapping of key: value")
    return data
