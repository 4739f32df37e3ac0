import json

from mathmind.distill.decontam import Item, find_pairs


def items(name, texts):
    return [Item(name, i + 1, t) for i, t in enumerate(texts)]


def test_jaccard_neighbours_and_8grams_are_flagged_and_unrelated_kept():
    test = items("test", [
        "Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes muffins with four.",
        "A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts in total?",
        "小明有 5 个苹果,又买了 3 个。他现在一共有多少个苹果?",
    ])
    train = items("train", [
        "How many bolts in total does a robe take with 2 bolts of blue fiber and half that much white fiber?",  # reworded
        "Tom reads 12 pages a day for a week. How many pages does he read?",                                   # unrelated
        "Yesterday Janet's ducks lay 16 eggs per day. She eats three for breakfast, then the farm grew and something "
        "else entirely happened to the neighbours cattle and sheep near the river bank",  # shares an 8-gram, Jaccard < 0.5
        "小明有 5 个苹果,又买了 3 个。他现在一共有多少个苹果?",                                                   # zh copy
        "小红有 7 支笔,丢了 2 支。她还剩几支笔?",                                                                 # zh unrelated
    ])
    pairs = find_pairs(train, test)
    flagged = {(p["train_line"], p["test_line"]): p["reasons"] for p in pairs}
    assert flagged == {(1, 2): ["jaccard"], (3, 1): ["8gram"], (4, 3): ["jaccard", "8gram"]}


def test_cli_writes_pairs_and_drops_lines_atomically(run_mathmind, tmp_path):
    train = tmp_path / "train.jsonl"
    test = tmp_path / "test.jsonl"
    train.write_text("".join(json.dumps({"question": q, "answer": "1"}) + "\n" for q in
                             ["What is the sum of 2 and 3 apples in the basket?", "Completely different text about trains and time."]))
    test.write_text(json.dumps({"question": "What is the sum of 2 and 3 apples in the basket?"}) + "\n")
    proc = run_mathmind("decontam", "--train", str(train), "--test", str(test), "--drop")
    assert proc.returncode == 0, proc.stderr
    (pair,) = [json.loads(line) for line in (tmp_path / "train.contam.jsonl").read_text().splitlines()]
    assert pair["train_line"] == 1 and pair["jaccard"] == 1.0
    kept = [json.loads(line) for line in (tmp_path / "train.decontam.jsonl").read_text().splitlines()]
    assert [k["question"] for k in kept] == ["Completely different text about trains and time."]


def test_missing_field_names_file_and_line(run_mathmind, tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text('{"question": "a b c"}\n{"text": "x"}\n')
    proc = run_mathmind("decontam", "--train", str(train), "--test", str(train))
    assert proc.returncode == 2 and "train.jsonl:2: field 'question' is missing" in proc.stderr
