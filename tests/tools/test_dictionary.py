from pathlib import Path

from schemas.datasets import VIEW_DATASETS
from tools.dictionary import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "DATA_DICTIONARY.md"


def test_the_committed_data_dictionary_is_current():
    assert DOC.read_text() == render(), "run: .venv/bin/python -m tools.dictionary > docs/DATA_DICTIONARY.md"


def test_every_column_of_every_dataset_is_documented():
    text = DOC.read_text()
    for ds in VIEW_DATASETS:
        for column in ds.columns + [ds.partition]:
            assert ds.doc(column).strip(), (ds.name, column)
            assert f"| `{column}` |" in text
