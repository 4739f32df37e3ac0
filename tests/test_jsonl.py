import json

import pytest

from mathmind.errors import UserError
from mathmind.jsonl import JsonlAppender, iter_jsonl, repair_torn_tail, write_json_atomic


def test_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2\n')
    reader = iter_jsonl(path)
    assert next(reader) == (1, {"a": 1})
    with pytest.raises(UserError, match=r"q\.jsonl:3: not valid JSON"):
        next(reader)


def test_non_object_line_is_rejected(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('[1, 2]\n')
    with pytest.raises(UserError, match=r"q\.jsonl:1: expected a JSON object, got list"):
        list(iter_jsonl(path))


def test_torn_last_line_is_moved_aside_and_whole_lines_kept(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": 1}\n{"id": 2}\n{"id": 3, "ans')
    assert repair_torn_tail(path) == '{"id": 3, "ans'
    assert [r["id"] for _, r in iter_jsonl(path)] == [1, 2]
    assert (tmp_path / "out.jsonl.torn").read_text() == '{"id": 3, "ans\n'
    assert repair_torn_tail(path) is None


def test_torn_file_with_no_newline_at_all(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": 1')
    assert repair_torn_tail(path) == '{"id": 1'
    assert path.read_text() == ""


def test_appender_repairs_then_appends_whole_lines(tmp_path):
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": 1}\n{"id"')
    with JsonlAppender(path) as out:
        out.write({"id": 2, "text": "答案是 42"})
    assert [r for _, r in iter_jsonl(path)] == [{"id": 1}, {"id": 2, "text": "答案是 42"}]


def test_atomic_json_write_replaces_whole(tmp_path):
    path = tmp_path / "info.json"
    write_json_atomic(path, {"a": 1})
    write_json_atomic(path, {"b": 2})
    assert json.loads(path.read_text()) == {"b": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["info.json"]
