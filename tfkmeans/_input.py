"""Reading your own data: a data file is read and checked in full before any k-means work starts."""

import csv
import math
import os

import numpy as np


class DataError(ValueError):
    """A data file that cannot be clustered; the message names the file, line and column."""


# --------------------------------------------------------------------------------------------
# Reading your own data
# --------------------------------------------------------------------------------------------


def load_samples(path):
    """Read samples from a CSV or NumPy ``.npy`` file, as a float32 array (rows x features).

    CSV: comma-separated numbers, one sample per line, every column used. A first line whose
    cells are all non-numeric is a header and is skipped; blank lines are skipped.
    ``.npy``: a 2-D numeric array.

    Raises
    ------
    DataError
        For a missing, empty or unreadable file, a cell that is empty, not a number, NaN or
        infinite, rows of different lengths, or an array that is not 2-D. The message names
        the file, and the line and column (1-based) where the problem is.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not a data file")
    extension = os.path.splitext(path)[1].lower()
    if extension == ".csv":
        samples = _load_csv(path)
    elif extension == ".npy":
        samples = _load_npy(path)
    else:
        raise DataError(f"{path}: unknown file type {extension or '(no extension)'!r}; use .csv or .npy")
    return samples


def _parse_number(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def _load_csv(path):
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            lines = list(enumerate(csv.reader(handle), start=1))
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (it is not UTF-8)") from None
    except csv.Error as error:
        raise DataError(f"{path}: not a readable CSV file ({error})") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error})") from None
    lines = [(number, row) for number, row in lines if any(cell.strip() for cell in row)]
    if not lines:
        raise DataError(f"{path}: the file is empty")
    first_number, first_row = lines[0]
    if all(cell.strip() and _parse_number(cell) is None for cell in first_row):
        lines = lines[1:]  # a header line
        if not lines:
            raise DataError(f"{path}: the file has a header line ({first_number}) but no data")
    width = len(lines[0][1])
    rows = []
    for number, row in lines:
        if len(row) != width:
            raise DataError(f"{path}, line {number}: {len(row)} columns, but line {lines[0][0]} has {width}")
        values = []
        for column, cell in enumerate(row, start=1):
            where = f"{path}, line {number}, column {column}"
            if not cell.strip():
                raise DataError(f"{where}: empty cell")
            value = _parse_number(cell)
            if value is None:
                raise DataError(f"{where}: {cell.strip()!r} is not a number")
            if not math.isfinite(value):
                raise DataError(f"{where}: {cell.strip()!r} is not a finite number")
            values.append(value)
        rows.append(values)
    return _to_float32(np.array(rows, dtype=np.float64), path)


def _load_npy(path):
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise DataError(f"{path}: not a readable .npy array of numbers ({error})") from None
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable .npy file ({error or 'it is empty'})") from None
    if array.dtype.kind not in "iuf":
        raise DataError(f"{path}: holds {array.dtype}, not numbers")
    if array.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array (samples x features), got shape {array.shape}")
    if array.size == 0:
        raise DataError(f"{path}: the array is empty (shape {array.shape})")
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        row, column = bad[0]
        raise DataError(f"{path}, row {row + 1}, column {column + 1}: {array[row, column]} is not a finite number")
    return _to_float32(array, path)


def _to_float32(array, path):
    samples = array.astype(np.float32)
    if not np.all(np.isfinite(samples)):
        row, column = np.argwhere(~np.isfinite(samples))[0]
        raise DataError(f"{path}, row {row + 1}, column {column + 1}: {array[row, column]} is too large for float32")
    return samples
