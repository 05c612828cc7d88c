"""Derive the bundled batches from the UCI Bike Sharing hourly table.

    python data/make_batches.py [SOURCE_CSV]

Rows are copied verbatim (same columns, same text), so the batches keep the source's
missing values and rare categories. The output is deterministic: running the script
again rewrites byte-identical files. See data/README.md for what each batch holds.
"""

from __future__ import annotations

import csv
import hashlib
import random
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parent.parent / "shared" / "data" / "bike_sharing_hourly.csv"
SOURCE_SHA256 = "37243617704e1f087a24c90449f64be6122b9de72ac0d15641fe3fba28402f1e"
SEED = 2011

Row = list[str]


def hour_of_day(label: str) -> int:
    """'12am' -> 0, '1pm' -> 13."""
    hour, half = int(label[:-2]) % 12, label[-2:]
    return hour + (12 if half == "pm" else 0)


def read_source(path: Path) -> tuple[Row, list[Row]]:
    if not path.is_file():
        sys.exit(
            f"error: no source table at {path}: the UCI Bike Sharing hourly table (data/README.md"
            " says where it comes from); put shared/ next to the clone or pass the file's path"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        sys.exit(f"error: {path} is not the expected UCI file (sha256 {digest})")
    with path.open(newline="") as f:
        header, *rows = list(csv.reader(f))
    return header, rows


def write_batch(path: Path, header: Row, rows: list[Row], sort_key: Callable[[Row], tuple]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(sorted(rows, key=sort_key))
    print(f"{path.relative_to(HERE)}: {len(rows)} rows")


def main(source: Path = DEFAULT_SOURCE) -> None:
    header, rows = read_source(source)
    day, hr = header.index("dteday"), header.index("hr")

    def chronological(row: Row) -> tuple[str, int]:
        return row[day], hour_of_day(row[hr])

    year_2011 = sorted((r for r in rows if r[day].startswith("2011")), key=chronological)
    random.Random(SEED).shuffle(year_2011)
    half = len(year_2011) // 2
    batches = {
        # Reference: a random half of 2011.
        "control/bike_sharing_dataset_1.csv": year_2011[:half],
        # The other random half of 2011: same period, so no drift is expected.
        "audit/bike_sharing_dataset_2.csv": year_2011[half:],
        # July 2011: seasonal drift inside the reference year.
        "audit/bike_sharing_dataset_3.csv.off": [r for r in rows if r[day].startswith("2011-07")],
        # All of 2012: a year of growth in rentals, plus different weather.
        "audit/bike_sharing_dataset_4.csv.off": [r for r in rows if r[day].startswith("2012")],
    }
    for name, batch in batches.items():
        write_batch(HERE / name, header, batch, chronological)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
