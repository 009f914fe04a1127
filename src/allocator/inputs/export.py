"""Writing a population as a data file: CSV, the Excel template's layout, or Parquet.

The same frame gives the same bytes; :func:`write_population` writes atomically.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from allocator.core.files import write_atomic
from allocator.inputs.schema import FIELDS, Kind

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

Format = Literal["csv", "xlsx", "parquet"]
FORMATS: dict[str, Format] = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}

SYNTHETIC_NOTE = (
    "Synthetic data: every firm, name, code and number is invented (names end in （模拟）)."
)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A population as UTF-8 CSV with English headers: flags 是/否, dates ``YYYY-MM-DD``.

    Whole-number columns are written without a decimal point, other numbers in their
    shortest exact form, so that the file loads back to the same frame.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    columns: dict[str, object] = {}
    for f in FIELDS:
        col = frame[f.name]
        if f.kind is Kind.BOOL:
            columns[f.name] = pa.array(np.where(col.to_numpy(dtype=bool), "是", "否"))
        elif f.kind is Kind.DATE:
            columns[f.name] = pa.array(col.dt.strftime("%Y-%m-%d").fillna("").to_numpy(object))
        elif f.kind in (Kind.TEXT, Kind.CATEGORY, Kind.LIST):
            columns[f.name] = pa.array(col.to_numpy(dtype=object), pa.string())
        else:
            values = col.to_numpy(dtype=np.float64)
            known = np.isfinite(values)
            whole = bool(np.all(values[known] == np.round(values[known])))
            shown = pa.array(
                np.where(known, values, 0).astype(np.int64) if whole else values, mask=~known
            )
            # Arrow prints a float in its shortest form that reads back exactly.
            columns[f.name] = pc.fill_null(pc.cast(shown, pa.string()), "")
    table = pa.table(columns)
    # Quote only when some cell holds a comma, quote or line break: then every string is.
    special = any(
        pc.any(pc.match_substring_regex(table[f.name], r'[,"\r\n]')).as_py()
        for f in FIELDS
        if f.kind in (Kind.TEXT, Kind.CATEGORY, Kind.LIST)
    )
    buffer = io.BytesIO()
    # Field names need no quotes; Arrow would quote them all.
    buffer.write((",".join(columns) + "\n").encode("utf-8"))
    pacsv.write_csv(
        table,
        buffer,
        pacsv.WriteOptions(include_header=False, quoting_style="needed" if special else "none"),
    )
    return bytes(buffer.getvalue())


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """A population as Parquet, typed as loaded, its schema metadata saying it is synthetic."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[b"allocate.synthetic"] = SYNTHETIC_NOTE.encode("utf-8")
    table = table.replace_schema_metadata(metadata)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return bytes(buffer.getvalue())


def xlsx_bytes(frame: pd.DataFrame) -> bytes:
    """A population in the layout of the Excel template (two header rows, drop-downs)."""
    from allocator.inputs.template import workbook_bytes

    return workbook_bytes(frame, note=SYNTHETIC_NOTE)


def format_of(path: Path | str, fmt: str | None = None) -> Format:
    """The output format: ``fmt`` if given, else from the file's extension.

    Raises
    ------
    ValueError
        When neither names one of csv, xlsx, parquet.
    """
    if fmt is not None:
        if fmt not in FORMATS.values():
            raise ValueError(f"format must be one of {', '.join(FORMATS.values())}, not {fmt!r}")
        return FORMATS["." + fmt]
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"cannot tell the format from {suffix or 'no extension'!s}; use .csv, .xlsx or "
            ".parquet, or give --format"
        )
    return FORMATS[suffix]


def write_population(frame: pd.DataFrame, path: Path | str, fmt: Format) -> None:
    """Write a population atomically (a temporary file in the same folder, then a rename)."""
    render = {"csv": csv_bytes, "xlsx": xlsx_bytes, "parquet": parquet_bytes}[fmt]
    write_atomic(path, render(frame))


__all__ = [
    "FORMATS",
    "SYNTHETIC_NOTE",
    "Format",
    "csv_bytes",
    "format_of",
    "parquet_bytes",
    "write_population",
    "xlsx_bytes",
]
