import numpy as np
import pandas as pd
import pytest

from anchoral_widget.data import datasets as ds
from anchoral_widget.data.sources import bbc_source, icd10_source
from anchoral_widget.errors import InputError

MAIN = ["icd10-eye", "icd10-multi", "tweets-sentiment", "tweets-sentiment-3class", "health-tweets", "bbc-news"]
RARE_AT_1_PERCENT = {
    "icd10-eye": ["eye"],
    "icd10-multi": ["eye", "mental"],
    "tweets-sentiment": ["positive"],
    "health-tweets": ["usnewshealth"],
    "icd10-ear": ["ear"],  # too small a chapter: the other chapters are subsampled instead
}


@pytest.mark.parametrize("name", [*MAIN, "icd10-ear"])
def test_dataset_loads_clean_and_disjoint(name):
    d = ds.load_dataset(name)
    assert len(d.texts) > 1000 and len(d.test_texts) > 100
    assert d.classes == sorted(d.classes)
    assert set(d.labels.tolist()) == set(d.classes) == set(d.test_labels.tolist())
    assert set(d.minority) <= set(d.classes) and d.minority
    assert all(isinstance(t, str) and t and t == t.strip() for t in d.texts + d.test_texts)
    everything = d.texts + d.test_texts
    assert len(set(everything)) == len(everything)  # deduplicated, so no leak between the parts
    # test share as promised by the default test_size=0.2
    assert len(d.test_texts) / len(everything) == pytest.approx(0.2, abs=0.001)
    assert np.array_equal(np.asarray(d.classes)[d.y], d.labels)
    assert np.array_equal(np.asarray(d.classes)[d.y_test], d.test_labels)


@pytest.mark.parametrize("name", list(RARE_AT_1_PERCENT))
def test_rare_classes_are_one_percent_of_pool_and_test(name):
    d = ds.load_dataset(name)
    for cls in RARE_AT_1_PERCENT[name]:
        assert np.mean(d.labels == cls) == pytest.approx(0.01, abs=0.0005)
        assert np.mean(d.test_labels == cls) == pytest.approx(0.01, abs=0.001)
    assert d.minority == RARE_AT_1_PERCENT[name]


def test_icd10_eye_labels_follow_the_chapter():
    texts, chapters, codes = icd10_source()
    chapter_of = dict(zip(texts, chapters))
    code_of = dict(zip(texts, codes))
    d = ds.load_dataset("icd10-eye")
    eye = [t for t, lab in zip(d.texts, d.labels) if lab == "eye"]
    other = [t for t, lab in zip(d.texts, d.labels) if lab == "other"]
    assert all(chapter_of[t] == "eye" and code_of[t][0] == "H" for t in eye)
    assert not any(chapter_of[t] == "eye" for t in other)
    assert {chapter_of[t] for t in other} >= {"injury", "neoplasms", "mental"}


def test_same_seed_same_split_other_seed_other_split():
    a = ds.load_dataset("tweets-sentiment", seed=3)
    b = ds.load_dataset("tweets-sentiment", seed=3)
    c = ds.load_dataset("tweets-sentiment", seed=4)
    assert a.texts == b.texts and a.test_texts == b.test_texts
    assert np.array_equal(a.labels, b.labels)
    assert set(a.test_texts) != set(c.test_texts)
    # the rare subsample itself depends on the seed
    pos_a = {t for t, lab in zip(a.texts + a.test_texts, np.r_[a.labels, a.test_labels]) if lab == "positive"}
    pos_c = {t for t, lab in zip(c.texts + c.test_texts, np.r_[c.labels, c.test_labels]) if lab == "positive"}
    assert pos_a != pos_c


def test_max_size_keeps_the_minority_share():
    d = ds.load_dataset("icd10-eye", max_size=2000, seed=1)
    assert len(d.texts) == 2000
    assert len(d.test_texts) == 500
    assert int((d.labels == "eye").sum()) == 20
    assert int((d.test_labels == "eye").sum()) == 5
    assert not set(d.texts) & set(d.test_texts)


def test_tiny_max_size_keeps_every_class():
    d = ds.load_dataset("icd10-multi", max_size=40, seed=0)
    assert len(d.texts) == 40
    assert set(d.labels.tolist()) == {"eye", "mental", "other"}


def test_max_size_above_the_data_changes_nothing():
    full = ds.load_dataset("bbc-news")
    capped = ds.load_dataset("bbc-news", max_size=10**6)
    assert full.texts == capped.texts


def test_bbc_news_is_deduplicated_and_says_so():
    texts, _ = bbc_source()
    d = ds.load_dataset("bbc-news")
    n_distinct = len({t.strip() for t in texts})
    assert n_distinct < len(texts)  # the raw corpus does hold duplicates
    assert len(d.texts) + len(d.test_texts) <= n_distinct
    assert "duplicate" in d.description


def test_every_icd10_chapter_variant_is_listed():
    names = ds.available_datasets()
    for short in ds.ICD10_CHAPTERS.values():
        assert f"icd10-{short}" in names
    assert all(isinstance(v, str) and v for v in names.values())


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(InputError, match="icd10-eye.*bbc-news"):
        ds.load_dataset("icd10-eyes")


@pytest.mark.parametrize("kwargs", [{"test_size": 1.0}, {"test_size": -0.1}, {"max_size": 0}])
def test_bad_split_arguments(kwargs):
    with pytest.raises(InputError):
        ds.load_dataset("bbc-news", **kwargs)


# ---- user tables -------------------------------------------------------------------------


def _frame():
    rng = np.random.default_rng(0)
    labels = ["rare" if i % 10 == 0 else "common" for i in range(200)]
    texts = [f"item number {i} about {lab} {rng.integers(1000)}" for i, lab in enumerate(labels)]
    return pd.DataFrame({"body": texts, "topic": labels, "extra": np.arange(200)})


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".jsonl", ".json", ".tsv"])
def test_read_table_and_from_frame_round_trip(tmp_path, ext):
    df = _frame()
    path = tmp_path / f"table{ext}"
    if ext == ".csv":
        df.to_csv(path, index=False)
    elif ext == ".tsv":
        df.to_csv(path, index=False, sep="\t")
    elif ext == ".parquet":
        df.to_parquet(path)
    elif ext == ".jsonl":
        df.to_json(path, orient="records", lines=True)
    else:
        df.to_json(path, orient="records")
    back = ds.read_table(path)
    assert back["body"].tolist() == df["body"].tolist()
    assert back["topic"].tolist() == df["topic"].tolist()
    d = ds.from_frame(back, "body", "topic", test_size=0.25, seed=0)
    assert d.classes == ["common", "rare"]
    assert d.minority == ["rare"]  # default: every class but the most frequent
    assert len(d.texts) == 150 and len(d.test_texts) == 50
    assert int((d.test_labels == "rare").sum()) == 5
    assert sorted(d.texts + d.test_texts) == sorted(df["body"])
    pairs = dict(zip(df["body"], df["topic"]))
    assert all(pairs[t] == lab for t, lab in zip(d.texts, d.labels))


def test_from_frame_keeps_row_order_and_seeds_the_split():
    df = _frame()
    whole = ds.from_frame(df, "body", "topic", minority="rare")
    assert whole.texts == df["body"].tolist() and whole.test_texts == []
    assert whole.minority == ["rare"]
    a = ds.from_frame(df, "body", "topic", test_size=0.3, seed=1)
    b = ds.from_frame(df, "body", "topic", test_size=0.3, seed=1)
    c = ds.from_frame(df, "body", "topic", test_size=0.3, seed=2)
    assert a.texts == b.texts and a.test_texts == b.test_texts
    assert a.test_texts != c.test_texts
    row = {t: i for i, t in enumerate(df["body"])}
    assert [row[t] for t in a.texts] == sorted(row[t] for t in a.texts)


def test_from_frame_cleans_duplicates_and_conflicts():
    df = pd.DataFrame(
        {
            "t": ["a cat", " a cat ", "a dog", "a dog", "a bird", "", None, "a fish"],
            "y": ["x", "x", "x", "y", "y", "x", "y", 1],
        }
    )
    d = ds.from_frame(df, "t", "y")
    # "a dog" carries two labels: dropped; empty and missing texts dropped; 1 -> "1"
    assert sorted(d.texts) == ["a bird", "a cat", "a fish"]
    assert dict(zip(d.texts, d.labels)) == {"a cat": "x", "a bird": "y", "a fish": "1"}
    assert "1 texts with conflicting labels" in d.description


def test_from_frame_with_test_frame_drops_leaking_pool_rows():
    df = _frame()
    test = df.iloc[:20]
    d = ds.from_frame(df, "body", "topic", test_frame=test, minority=["rare"])
    assert d.test_texts == test["body"].tolist()
    assert len(d.texts) == 180 and not set(d.texts) & set(d.test_texts)
    with pytest.raises(InputError, match="either test_size or test_frame"):
        ds.from_frame(df, "body", "topic", test_frame=test, test_size=0.2)


def test_from_frame_errors_name_the_problem():
    df = _frame()
    with pytest.raises(InputError, match="no column \\['text'\\].*body"):
        ds.from_frame(df, "text", "topic")
    with pytest.raises(InputError, match="minority \\['rarest'\\] not among the labels"):
        ds.from_frame(df, "body", "topic", minority="rarest")
    df.loc[[3, 7], "topic"] = None
    with pytest.raises(InputError, match="2 rows have no label.*\\[3, 7\\]"):
        ds.from_frame(df, "body", "topic")
    with pytest.raises(InputError, match="DataFrame"):
        ds.from_frame({"body": []}, "body", "topic")


def test_read_table_errors(tmp_path):
    bad = tmp_path / "table.xlsx"
    bad.write_text("x")
    with pytest.raises(InputError, match="unknown extension '.xlsx'.*\\.csv"):
        ds.read_table(bad)
    with pytest.raises(InputError, match="no such file"):
        ds.read_table(tmp_path / "missing.csv")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"a": 1}\n{not json\n')
    with pytest.raises(InputError, match="cannot read"):
        ds.read_table(broken)
