"""Finding batches: natural order, disabled ``.off`` files, explicit names, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drift.batches import data_folder, natural_key, newest_batch, pick_batches
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


def test_parquet_batches_are_found_beside_csv_ones_in_natural_order(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "data_4.csv", "data_10.parquet", "data_12.pq.off")
    assert newest_batch(folder) == folder / "data_10.parquet"
    make_folder(tmp_path, "data_11.pq")
    assert newest_batch(folder) == folder / "data_11.pq"


def test_folder_with_only_disabled_parquet_batches_names_them(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "data_3.parquet.off", "notes.txt.off")
    with pytest.raises(DriftInputError, match=r"\(disabled: data_3\.parquet\.off;"):
        newest_batch(folder)


def test_empty_folder_is_an_input_error(tmp_path: Path) -> None:
    expected = r"no enabled batch \(a \.csv, \.parquet or \.pq file\)$"
    with pytest.raises(DriftInputError, match=expected) as info:
        newest_batch(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_folder_with_only_disabled_batches_names_them(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "data_3.csv.off", "data_10.csv.off")
    with pytest.raises(DriftInputError) as info:
        newest_batch(folder)
    message = str(info.value)
    assert message.startswith(f"{folder}: no enabled batch (a .csv, .parquet or .pq file)")
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


@pytest.mark.parametrize(
    "name",
    ["../control/ref_1.csv", "../../elsewhere/other.csv", "ABSOLUTE", "./cur_4.csv", "..", "."],
)
def test_pick_batches_refuses_a_name_that_is_a_path(tmp_path: Path, name: str) -> None:
    data = _data_dir(tmp_path / "data")
    elsewhere = make_folder(tmp_path / "elsewhere", "other.csv") / "other.csv"
    name = str(elsewhere) if name == "ABSOLUTE" else name
    for reference, current in ((name, None), (None, name)):
        with pytest.raises(DriftInputError, match=r"a plain file name in .* is expected"):
            pick_batches(data, reference=reference, current=current)


def test_pick_batches_refuses_a_symlink_that_leads_out_of_its_folder(tmp_path: Path) -> None:
    data = _data_dir(tmp_path / "data")
    secret = make_folder(tmp_path / "elsewhere", "secret.csv") / "secret.csv"
    (data / "audit" / "cur_99.csv").symlink_to(secret)  # also the newest batch
    (data / "audit" / "cur_0.csv").symlink_to(data / "control" / "ref_1.csv")  # a sibling
    for current in ("cur_99.csv", None, "cur_0.csv"):
        with pytest.raises(DriftInputError, match=r"audit/cur_\d+\.csv: leads outside"):
            pick_batches(data, current=current)


def test_pick_batches_refuses_a_batch_folder_that_is_a_symlink_elsewhere(tmp_path: Path) -> None:
    data = make_folder(tmp_path / "data")
    make_folder(data / "control", "ref_1.csv")
    (data / "audit").symlink_to(make_folder(tmp_path / "elsewhere", "secret.csv"))
    with pytest.raises(DriftInputError, match="leads outside"):
        pick_batches(data)


def test_pick_batches_follows_a_symlink_inside_its_folder_to_the_real_file(tmp_path: Path) -> None:
    data = _data_dir(tmp_path)
    (data / "audit" / "latest.csv").symlink_to("cur_4.csv")
    assert pick_batches(data, current="latest.csv")[1] == data / "audit" / "cur_4.csv"


def test_data_folder_is_the_root_or_a_folder_inside_it(tmp_path: Path) -> None:
    root = make_folder(tmp_path / "root")
    inside = make_folder(root / "bikes")
    assert data_folder(str(root), root) == root
    assert data_folder(str(inside), root) == inside
    assert data_folder("bikes", root) == inside  # relative to the root
    assert data_folder("bikes/../bikes", root) == inside


@pytest.mark.parametrize("data_dir", ["..", "/etc", "bikes/../..", "LINK", "a\x00b"])
def test_data_folder_outside_the_root_is_refused(tmp_path: Path, data_dir: str) -> None:
    root = make_folder(tmp_path / "root")
    (root / "link").symlink_to(make_folder(tmp_path / "elsewhere"))
    data_dir = "link" if data_dir == "LINK" else data_dir
    with pytest.raises(DriftInputError, match=f"data_dir {re.escape(repr(data_dir))} is"):
        data_folder(data_dir, root)


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
