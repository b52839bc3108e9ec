"""Reading your own data: tables (CSV, TSV, text) with pandas, and NumPy ``.npy`` files.

A file is read and checked in full before any k-means work starts. Every problem is a
``DataError`` whose message names the file and, where it applies, the line (counted as in a
text editor, the header included) and the column (by number from 1, and by name).
"""

import codecs
import collections
import collections.abc
import fcntl
import math
import os
import re
import stat
import unicodedata

import numpy as np

TABLE_EXTENSIONS = (".csv", ".tsv", ".txt")
EXTENSIONS = (*TABLE_EXTENSIONS, ".npy")


class DataError(ValueError):
    """A data file that cannot be clustered; the message names the file, line and column."""


Table = collections.namedtuple("Table", "samples feature_names rows n_rows delimiter", defaults=(None,))
Table.__doc__ = """What ``read_table`` returns.

samples : ndarray of float32 (n_kept, n_features)
feature_names : list of str, one per column used
rows : ndarray of int, the 0-based data row (not counting a header) of each sample kept
n_rows : int, data rows in the file (kept or not)
delimiter : str or None, the delimiter a table was read with (given or detected); None for .npy
"""


def load_samples(path, encoding="utf-8"):
    """Read every column of a table or ``.npy`` file as float32 samples (rows x features).

    The simple case of ``read_table``: no gaps allowed, every column a number.

    Parameters
    ----------
    path : str or path-like
        A table (``.csv``, ``.tsv``, ``.txt``) or a NumPy ``.npy`` file.
    encoding : str, default "utf-8"
        A table's text encoding (``"cp1252"`` for many spreadsheet exports; the command's
        ``--encoding``).

    Returns
    -------
    ndarray of float32, shape (n_samples, n_features)

    Raises
    ------
    DataError
        Naming the file, and the line and column where it applies.
    """
    return read_table(path, encoding=encoding).samples


def read_table(path, columns=None, delimiter=None, decimal=".", missing="error", encoding="utf-8"):
    """Read samples from a table (``.csv``, ``.tsv``, ``.txt``) or a NumPy ``.npy`` file.

    Tables are read with pandas' C parser. The first line is a header when none of its cells
    is a number. Blank lines are skipped.

    Parameters
    ----------
    path : str or path-like
    columns : list of str, optional
        The columns to use, each a name from the header or a position counted from 1 (a name
        wins where a header has a column called "2"). Default: all of them.
    delimiter : str, optional
        Default: a tab for ``.tsv``; otherwise the one of ``,`` ``;`` tab ``|`` and space that
        the first lines use consistently (a comma where none does).
    decimal : str, default "."
        The decimal mark (``","`` for ``1,5``, usually with ``;`` as the delimiter).
    missing : {"error", "drop"}
        An empty cell in a column used: a ``DataError``, or leave the row out.
    encoding : str, default "utf-8"
        A table's text encoding, any that Python knows (``"latin-1"``, ``"cp1252"`` for many
        spreadsheet exports). A UTF-8 byte-order mark is skipped.

    Returns
    -------
    Table
    """
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    with open_regular(path):  # refuses FIFOs, devices and directories before anything reads them
        pass
    if extension not in EXTENSIONS:
        raise DataError(f"{path}: unknown file type {extension or '(no extension)'!r}; use {', '.join(EXTENSIONS)}")
    try:
        if extension == ".npy":
            names, values = _read_npy(path)
        else:
            names, values = _read_text_table(path, extension, delimiter, decimal, text_encoding(encoding))
    except UnicodeError as error:  # beyond a bad byte (caught where it is read): no BOM for utf-16, say
        raise DataError(f"{path}: cannot be read as {encoding} text ({short_message(error)})") from None
    except OSError as error:  # a read that fails midway: an I/O error, a file that vanished
        raise DataError(f"{path}: cannot be read ({short_message(error)})") from None
    positions = choose_columns(path, names, columns)
    table = _to_samples(path, names, values, positions, missing, decimal)
    return table._replace(delimiter=None if extension == ".npy" else values.attrs["delimiter"])


def open_regular(path):
    """Open ``path`` for reading in binary mode, refusing anything but a regular file.

    A FIFO would block for ever, a device such as ``/dev/zero`` never ends, and a directory is
    no data: each gets a ``DataError`` before a byte is read. The file is opened without
    blocking and checked by its open descriptor, so what is checked is what is read.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be opened ({short_message(error)})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise DataError(f"{path}: is {_file_kind(mode)}, not a regular file")
    flags = fcntl.fcntl(descriptor, fcntl.F_GETFL)
    fcntl.fcntl(descriptor, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    return os.fdopen(descriptor, "rb")


def _file_kind(mode):
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a plain file"


NpyHeader = collections.namedtuple("NpyHeader", "shape fortran_order dtype offset")
NpyHeader.__doc__ = """A ``.npy`` file's header, checked against the file (see ``npy_header``).

shape : tuple of int (rows, columns)
fortran_order : bool
dtype : numpy.dtype, a plain integer or float type (either byte order)
offset : int, where the array's bytes start
"""


def npy_header(path):
    """The header of the ``.npy`` file ``path``, checked against the file before anything is
    sized from it.

    The header must describe a 2-D array of plain numbers (integers or floats, either byte
    order, C or Fortran order; never Python objects, which would be unpickled) whose bytes are
    exactly what the file holds after the header: a header that claims more rows than the file
    has, or a file with bytes after the array, is refused. Only the header is read.

    Raises
    ------
    DataError
        Naming the file and what is wrong with it.
    """
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        try:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(handle)
            else:
                raise ValueError(f"format version {version[0]}.{version[1]} is not supported here (save it again)")
        except (ValueError, EOFError) as error:
            raise DataError(f"{path}: not a readable .npy file ({short_message(error) or 'it is empty'})") from None
        except OSError as error:
            raise DataError(f"{path}: cannot be read ({short_message(error)})") from None
        offset = handle.tell()
    if dtype.hasobject:
        raise DataError(f"{path}: holds Python objects, which are never loaded (they would be unpickled)")
    if dtype.kind not in "iuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise DataError(f"{path}: holds {dtype}, not numbers")
    if any(extent < 0 for extent in shape):
        raise DataError(f"{path}: its header claims a negative shape {shape}")
    if len(shape) != 2:
        raise DataError(f"{path}: expected a 2-D array (samples x features), got shape {shape}")
    expected = math.prod(shape) * dtype.itemsize  # Python integers: no overflow
    held = size - offset
    if held < expected:
        raise DataError(
            f"{path}: the file is truncated: its header claims shape {shape} of {dtype} ({expected:,} bytes), "
            f"but only {held:,} bytes follow it"
        )
    if held > expected:
        raise DataError(
            f"{path}: {held - expected:,} bytes follow the array of shape {shape} that its header describes; "
            "the header does not match the file"
        )
    return NpyHeader(tuple(shape), fortran_order, dtype, offset)


def _read_npy(path):
    header = npy_header(path)
    if 0 in header.shape:
        raise DataError(f"{path}: the array is empty (shape {header.shape})")
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable .npy file ({short_message(error)})") from None
    if array.shape != header.shape or array.dtype != header.dtype:  # replaced since it was checked
        raise DataError(f"{path}: the file changed while it was being read")
    return ColumnNames(header.shape[1]), array


class ColumnNames(collections.abc.Sequence):
    """The names "column 1", "column 2", ... of a file without a header, made on demand: a
    file of millions of columns costs nothing until a name is shown."""

    def __init__(self, n_columns):
        self.n_columns = n_columns

    def __len__(self):
        return self.n_columns

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.n_columns))]
        if not -self.n_columns <= index < self.n_columns:
            raise IndexError(index)
        return f"column {index % self.n_columns + 1}"

    def index(self, name, *args):
        match = re.fullmatch(r"column (\d+)", name)
        if match and 1 <= int(match.group(1)) <= self.n_columns:
            return int(match.group(1)) - 1
        raise ValueError(f"{name!r} is not a column name")

    def __contains__(self, name):
        try:
            self.index(name)
            return True
        except (ValueError, TypeError):
            return False


def text_encoding(name):
    """Python's codec for ``name``, as pandas and ``open`` take it (UTF-8 skips a byte-order
    mark), or a DataError when Python knows no such text encoding."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise DataError(f"unknown text encoding {name!r}") from None
    if not getattr(info, "_is_text_encoding", True):  # base64, rot13, zlib: codecs, not encodings
        raise DataError(f"{name!r} is not a text encoding")
    return "utf-8-sig" if info.name == "utf-8" else info.name


def _sniff(path, extension, encoding):
    """The delimiter the first lines use consistently (see ``read_table``)."""
    if extension == ".tsv":
        return "\t"
    with open(path, encoding=encoding, errors="replace") as handle:
        lines = [line.rstrip("\r\n") for line, _ in zip(handle, range(50))]
    lines = [line for line in lines if line.strip()]
    for candidate in (",", ";", "\t", "|"):
        counts = {line.count(candidate) for line in lines}
        if len(counts) == 1 and counts.pop() > 0:
            return candidate
    if lines and all(len(line.split()) == len(lines[0].split()) > 1 for line in lines):
        return r"\s+"
    return ","


def _read_text_table(path, extension, delimiter, decimal, encoding):
    """(column names, a DataFrame of the cells, as numbers where pandas could read them)."""
    import pandas as pd

    delimiter = delimiter or _sniff(path, extension, encoding)
    options = dict(
        sep=delimiter,
        decimal=decimal,
        encoding=encoding,
        keep_default_na=False,  # only empty cells are missing; "nan" and "NA" are values to reject
        na_values=[""],
        skip_blank_lines=True,
        skipinitialspace=True,
        engine="c",
    )
    try:
        first = pd.read_csv(path, header=None, nrows=1, dtype=str, **options)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file in {_shown(encoding)}{_encoding_hint(path, encoding)}") from None
    except (pd.errors.ParserError, OSError) as error:
        raise DataError(f"{path}: not a readable table ({short_message(error)})") from None
    cells = [cell for cell in first.iloc[0].tolist() if isinstance(cell, str)]
    header = bool(cells) and not any(_is_number(cell, decimal) for cell in cells)
    try:
        table = pd.read_csv(path, header=0 if header else None, **options)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as error:
        raise DataError(_ragged_message(path, error)) from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file in {_shown(encoding)}{_encoding_hint(path, encoding)}") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({short_message(error)})") from None
    if header:
        names = [str(name).strip() for name in table.columns]
    else:
        names = [f"column {j + 1}" for j in range(table.shape[1])]
    if table.shape[0] == 0:
        raise DataError(f"{path}: the file has a header line (1) but no data")
    table.columns = range(table.shape[1])
    # Line numbers: pandas skipped blank lines, so count them back from the file itself.
    table.attrs["lines"] = _data_line_numbers(path, header, table.shape[0], encoding)
    table.attrs["delimiter"] = "whitespace" if delimiter == r"\s+" else delimiter
    return names, table


def _shown(encoding):
    return "UTF-8" if encoding == "utf-8-sig" else encoding


def _encoding_hint(path, encoding):
    with open(path, "rb") as handle:
        start = handle.read(2)
    if start in (b"\xff\xfe", b"\xfe\xff"):
        return "; it starts as UTF-16 text does: try --encoding utf-16"
    if encoding == "utf-8-sig":
        return "; from a spreadsheet on Windows? try --encoding cp1252 (or latin-1)"
    return ""


def _data_line_numbers(path, header, n_rows, encoding):
    """The 1-based line number of each data row (blank lines, and a header, skipped)."""
    with open(path, encoding=encoding, errors="replace") as handle:
        numbers = [number for number, line in enumerate(handle, start=1) if line.strip()]
    numbers = numbers[1:] if header else numbers
    if len(numbers) < n_rows:  # quoted cells spanning lines: fall back on counting rows
        return np.arange(n_rows) + 1 + header
    return np.asarray(numbers[:n_rows])


def _is_number(text, decimal):
    try:
        float(text.strip().replace(decimal, ".") if decimal != "." else text)
        return True
    except ValueError:
        return False


def short_message(error):
    """The last line of an exception's message (or its type's name)."""
    text = getattr(error, "strerror", None) or str(error)
    return text.strip().splitlines()[-1] if text.strip() else type(error).__name__


def _ragged_message(path, error):
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
    if match:
        expected, line, saw = match.groups()
        return f"{path}, line {line}: {saw} columns, but the lines before it have {expected}"
    return f"{path}: not a readable table ({short_message(error)})"


def choose_columns(path, names, columns, flag="--columns"):
    """Positions (0-based) of the columns asked for: by name, else by number from 1."""
    if columns is None:
        return list(range(len(names)))
    positions = []
    for column in columns:
        column = column.strip()
        if column in names:
            positions.append(names.index(column))
        elif len(matches := _same_letters(column, names)) == 1:
            positions.append(matches[0])
        elif column.isdigit() and 1 <= int(column) <= len(names):
            positions.append(int(column) - 1)
        else:
            shown = ", ".join(repr(name) for name in names[:12]) + (", ..." if len(names) > 12 else "")
            raise DataError(
                f"{path}: no column {column!r} (the columns are {shown}; or give a number from 1 to {len(names)})"
            )
    if len(set(positions)) != len(positions):
        raise DataError(f"{path}: a column is asked for twice in {flag}")
    return positions


def _same_letters(column, names):
    """Positions of the header's names that are ``column`` typed another way (an accent as one
    character, or as a letter and a mark). A file without a header has no such names."""
    if isinstance(names, ColumnNames):  # "column 1", ...: never built one by one
        return []
    composed = unicodedata.normalize("NFC", column)
    return [j for j, name in enumerate(names) if unicodedata.normalize("NFC", name) == composed]


def _describe(names, position):
    name = names[position]
    return f"column {position + 1}" + ("" if name == f"column {position + 1}" else f" ({name!r})")


def _to_samples(path, names, values, positions, missing, decimal):
    """The chosen columns as float32 samples, with every cell checked."""
    if isinstance(values, np.ndarray):
        return _array_to_samples(path, names, values, positions, missing)
    return _table_to_samples(path, names, values, positions, missing, decimal)


def _table_to_samples(path, names, table, positions, missing, decimal):
    import pandas as pd

    lines = table.attrs["lines"]

    def where(row, position):
        return f"{path}, line {lines[row]}, {_describe(names, position)}"

    columns = []
    for position in positions:
        column = table[position]
        if not pd.api.types.is_numeric_dtype(column.dtype):
            numeric = pd.to_numeric(column, errors="coerce")
            bad = np.flatnonzero(numeric.isna().to_numpy() & column.notna().to_numpy())
            if len(bad):
                cell = str(column.iloc[bad[0]]).strip()
                if _is_number(cell, decimal):  # "nan", "inf": numbers, but not finite ones
                    raise DataError(f"{where(bad[0], position)}: {cell!r} is not a finite number")
                hint = (
                    " (a decimal comma? add --decimal ,)" if decimal == "." and re.fullmatch(r"-?\d+,\d+", cell) else ""
                )
                raise DataError(
                    f"{where(bad[0], position)}: {cell!r} is not a number{hint}; "
                    "choose the numeric columns with --columns"
                )
            column = numeric
        columns.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
    matrix = np.column_stack(columns)
    gaps = table[positions].isna().to_numpy()  # empty cells; a NaN parsed from "nan" is not a gap
    matrix, rows = _drop_or_refuse_gaps(
        path, matrix, gaps, missing, lambda row, column: where(row, positions[column]), "empty cell"
    )
    bad = ~np.isfinite(matrix)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        text = str(table[positions[column]].iloc[rows[row]]).strip()
        raise DataError(f"{where(rows[row], positions[column])}: {text!r} is not a finite number")
    return _as_float32(path, matrix, rows, table.shape[0], [names[p] for p in positions], where, positions)


def _array_to_samples(path, names, array, positions, missing):
    """A ``.npy`` array: NaN is a missing value, infinity an error."""

    def where(row, position):
        return f"{path}, row {row + 1}, {_describe(names, position)}"

    matrix = np.asarray(array[:, positions] if positions != list(range(array.shape[1])) else array)
    if matrix.dtype.kind == "f":
        gaps = np.isnan(matrix)
        matrix, rows = _drop_or_refuse_gaps(
            path, matrix, gaps, missing, lambda row, column: where(row, positions[column]), "NaN, a missing value"
        )
        infinite = np.isinf(matrix)
        if infinite.any():
            row, column = np.argwhere(infinite)[0]
            raise DataError(f"{where(rows[row], positions[column])}: {matrix[row, column]} is not a finite number")
    else:
        rows = np.arange(array.shape[0])
    return _as_float32(path, matrix, rows, array.shape[0], [names[p] for p in positions], where, positions)


def _drop_or_refuse_gaps(path, matrix, gaps, missing, where, gap):
    rows = np.arange(matrix.shape[0])
    if not gaps.any():
        return matrix, rows
    if missing == "drop":
        keep = ~gaps.any(axis=1)
        if not keep.any():
            raise DataError(f"{path}: every row has a missing value in the columns used; nothing is left")
        return matrix[keep], rows[keep]
    row, column = np.argwhere(gaps)[0]
    raise DataError(f"{where(row, column)}: {gap}; --missing drop leaves out the rows that have one")


def _as_float32(path, matrix, rows, n_rows, feature_names, where, positions):
    with np.errstate(over="ignore"):  # found and reported just below
        samples = matrix.astype(np.float32)
    if not np.all(np.isfinite(samples)):
        row, column = np.argwhere(~np.isfinite(samples))[0]
        raise DataError(f"{where(rows[row], positions[column])}: {matrix[row, column]} is too large for float32")
    return Table(samples, feature_names, rows, n_rows)


def looks_like_an_id(column):
    """Whether a column counts 0, 1, 2, ... or 1, 2, 3, ... (an id, not a measurement). The first
    rows decide most columns at once; only a column that starts like an id is read through."""
    if len(column) <= 2 or column[0] not in (0, 1) or np.any(np.diff(column[:16]) != 1):
        return False
    return bool(np.all(np.diff(column) == 1))
