"""Finding batches: natural order, disabled ``.off`` files, explicit names, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from drift.batches import natural_key, newest_batch, pick_batches
from drift.errors import DriftInputError

ROOT = Path(__file__).resolve().parents[1]


def make_folder(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text("x\n1\n")
    return folder


def test_natural_key_orders_numbers_by_value() -> None:
    names = ["batch_10.csv", "batch_4.csv", "batch_2.csv", "batch_1.csv", "batch_100.csv"]
    assert sorted(names, key=natural_key) == [
        "batch_1.csv", "batch_2.csv", "batch_4.csv", "batch_10.csv", "batch_100.csv",
    ]  # fmt: skip


def test_natural_key_compares_mixed_names_without_type_errors() -> None:
    names = ["b.csv", "2024-01-05.csv", "a_3_10.csv", "a_3_9.csv", "a.csv"]
    assert sorted(names, key=natural_key) == [
        "2024-01-05.csv", "a.csv", "a_3_9.csv", "a_3_10.csv", "b.csv",
    ]  # fmt: skip


def test_newest_batch_is_the_highest_number_in_natural_order(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "data_4.csv", "data_10.csv", "data_9.csv")
    assert newest_batch(folder) == folder / "data_10.csv"


def test_newest_batch_ignores_disabled_files(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "data_4.csv", "data_12.csv.off", "data_10.csv.off")
    assert newest_batch(folder) == folder / "data_4.csv"


def test_newest_batch_ignores_other_files_and_folders(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "data_2.csv", "data_9.txt", "notes.md")
    (folder / "data_99.csv").mkdir()
    assert newest_batch(folder) == folder / "data_2.csv"


def test_empty_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(DriftInputError, match=r"no enabled \.csv batch$") as info:
        newest_batch(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_folder_with_only_disabled_batches_names_them(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "data_3.csv.off", "data_10.csv.off")
    with pytest.raises(DriftInputError) as info:
        newest_batch(folder)
    message = str(info.value)
    assert message.startswith(f"{folder}: no enabled .csv batch")
    assert "data_3.csv.off" in message and "data_10.csv.off" in message
    assert "remove '.off'" in message


def test_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(DriftInputError, match="no such folder"):
        newest_batch(tmp_path / "absent")


def _data_dir(tmp_path: Path) -> Path:
    make_folder(tmp_path / "control", "ref_1.csv", "ref_2.csv")
    make_folder(tmp_path / "audit", "cur_4.csv", "cur_10.csv", "cur_11.csv.off")
    return tmp_path


def test_pick_batches_defaults_to_the_newest_enabled_batch_of_each_folder(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    assert pick_batches(data) == (data / "control" / "ref_2.csv", data / "audit" / "cur_10.csv")


def test_pick_batches_resolves_explicit_names_in_their_folders(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    picked = pick_batches(data, reference="ref_1.csv", current="cur_4.csv")
    assert picked == (data / "control" / "ref_1.csv", data / "audit" / "cur_4.csv")


def test_pick_batches_uses_an_absolute_name_as_it_is(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    elsewhere = make_folder(tmp_path / "elsewhere", "other.csv") / "other.csv"
    assert pick_batches(data, current=str(elsewhere))[1] == elsewhere


def test_pick_batches_explicit_name_that_does_not_exist_is_an_input_error(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    with pytest.raises(DriftInputError, match="no such file") as info:
        pick_batches(data, current="cur_99.csv")
    assert str(data / "audit" / "cur_99.csv") in str(info.value)


def test_pick_batches_with_no_enabled_current_batch_is_an_input_error(tmp_path: Path) -> None:
    make_folder(tmp_path / "control", "ref_1.csv")
    make_folder(tmp_path / "audit", "cur_1.csv.off")
    with pytest.raises(DriftInputError, match=r"disabled: cur_1\.csv\.off"):
        pick_batches(tmp_path)


def test_bundled_data_compares_the_reference_with_the_no_drift_batch() -> None:
    data = ROOT / "data"
    assert pick_batches(data) == (
        data / "control" / "bike_sharing_dataset_1.csv",
        data / "audit" / "bike_sharing_dataset_2.csv",
    )
