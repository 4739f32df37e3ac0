import json

import pytest

from mathmind.errors import UserError
from mathmind.jsonl import JsonlAppender, check_output_path, iter_csv, iter_jsonl, repair_torn_tail, write_json_atomic


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


def test_bom_and_crlf_are_read_normally(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"question": "1+1"}\r\n\r\n{"question": "2+2"}\r\n')
    assert list(iter_jsonl(path)) == [(1, {"question": "1+1"}), (3, {"question": "2+2"})]


def test_a_line_that_is_not_utf8_is_named_with_its_byte_offset(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"q": "a"}\n{"q": "caf\xe9"}\n')              # latin-1, as old Windows tools save it
    with pytest.raises(UserError, match=r"q\.jsonl:2: not UTF-8 \(byte 0xe9 at byte offset 21 of the file\)"):
        list(iter_jsonl(path))


def test_csv_with_bom_crlf_and_a_5mb_field(tmp_path):
    path = tmp_path / "q.csv"
    big = "x" * 5_000_000
    path.write_bytes(b'\xef\xbb\xbfquestion,answer\r\n"What is\r\n1 + 1?",2\r\n' + f'"{big}",3\r\n'.encode())
    rows = list(iter_csv(path))
    assert [(n, sorted(r)) for n, r in rows] == [(3, ["answer", "question"]), (4, ["answer", "question"])]
    assert rows[0][1]["question"] == "What is\r\n1 + 1?" and len(rows[1][1]["question"]) == 5_000_000


def test_output_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "runs").write_text("a file, not a folder")
    with pytest.raises(UserError, match=r"--out .*runs/sub/out\.jsonl: .*runs is a file, not a folder"):
        check_output_path(tmp_path / "runs" / "sub" / "out.jsonl", "--out")
    check_output_path(tmp_path / "new" / "out.jsonl", "--out")          # a folder still to be made is fine
