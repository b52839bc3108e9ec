"""Reading your own data: tables (CSV, TSV, text) with pandas, and NumPy ``.npy`` files.

A file is read and checked in full before any k-means work starts. Every problem is a
``DataError`` whose message names the file and, where it applies, the line (counted as in a
text editor, the header included) and the column (by number from 1, and by name).
"""

import codecs
import collections
import collections.abc
import math
import os
import re
import shlex
import stat
import sys
import unicodedata
import warnings

import numpy as np

from ._text import NUMBER, QUOTE_LIMIT, quoted, shown_path

TABLE_EXTENSIONS = (".csv", ".tsv", ".txt")
EXTENSIONS = (*TABLE_EXTENSIONS, ".npy")


class DataError(ValueError):
    """A data file that cannot be clustered; the message names the file, line and column."""


Table = collections.namedtuple("Table", "samples feature_names rows n_rows delimiter left_out", defaults=(None, ()))
Table.__doc__ = """What ``read_table`` returns.

samples : ndarray of float32 (n_kept, n_features)
feature_names : list of str, one per column used
rows : ndarray of int, the 0-based data row (not counting a header) of each sample kept
n_rows : int, data rows in the file (kept or not)
delimiter : str or None, the delimiter a table was read with (given or detected); None for .npy
left_out : tuple of (str, str), with ``numeric_only``: each column left out and why
"""

# What pandas reads as a missing value by default (its keep_default_na), besides an empty cell.
MISSING_MARKERS = (
    "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "null", "NULL", "None", "<NA>", "#N/A", "#N/A N/A",
    "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN",
)  # fmt: skip


def load_samples(path, encoding="utf-8", na_values=None):
    """Read every column of a table or ``.npy`` file as float32 samples (rows x features).

    The simple case of ``read_table``: no gaps allowed, every column a number.

    Parameters
    ----------
    path : str or path-like
        A table (``.csv``, ``.tsv``, ``.txt``) or a NumPy ``.npy`` file.
    encoding : str, default "utf-8"
        A table's text encoding (``"cp1252"`` for many spreadsheet exports; the command's
        ``--encoding``).
    na_values : list of str, optional
        More cells that mark a missing value, besides pandas' own (see ``read_table``).

    Returns
    -------
    ndarray of float32, shape (n_samples, n_features)

    Raises
    ------
    DataError
        Naming the file, and the line and column where it applies.
    """
    return read_table(path, encoding=encoding, na_values=na_values).samples


def read_table(
    path,
    columns=None,
    delimiter=None,
    decimal=".",
    missing="error",
    encoding="utf-8",
    na_values=None,
    numeric_only=False,
    set_aside=(),
):
    """Read samples from a table (``.csv``, ``.tsv``, ``.txt``) or a NumPy ``.npy`` file.

    Tables are read with pandas' C parser. The first line is a header when none of its cells
    is a number. Blank lines are skipped. Every line must have as many fields as the first
    (the header, when there is one): a line with more or fewer is refused, never taken as an
    index or filled in.

    Parameters
    ----------
    path : str or path-like
    columns : list of str, optional
        The columns to use, each a name from the header or a position counted from 1 (a name
        wins where a header has a column called "2"). Default: all of them. Each must hold
        numbers (and missing values); the columns not chosen may hold anything.
    delimiter : str, optional
        One ASCII character (a space means any run of spaces and tabs). Default: a tab for ``.tsv``;
        otherwise the one of ``,`` ``;`` tab ``|`` and space that the first lines use
        consistently (a comma where none does).
    decimal : str, default "."
        The decimal mark (``","`` for ``1,5``, usually with ``;`` as the delimiter).
    missing : {"error", "drop"}
        A missing value in a column used: a ``DataError``, or leave the row out.
    encoding : str, default "utf-8"
        A table's text encoding, any that Python knows (``"latin-1"``, ``"cp1252"`` for many
        spreadsheet exports). A UTF-8 byte-order mark is skipped.
    na_values : list of str, optional
        More cells that mark a missing value (``["?", "-999"]``), besides those pandas reads as
        missing by default: an empty cell, ``NA``, ``N/A``, ``NaN``, ``nan``, ``null``,
        ``None`` and the others of ``MISSING_MARKERS``. In a ``.npy`` file NaN is missing.
    numeric_only : bool, default False
        Without ``columns``: leave out the columns that hold no number at all (text, True and
        False, or nothing), and name them in ``Table.left_out``, instead of refusing them.
    set_aside : collection of int, optional
        With ``numeric_only``: the positions (from 0) of columns that are never samples, nor
        named as left out (the command's ``--true-labels`` column); they may hold anything.

    Returns
    -------
    Table

    Raises
    ------
    DataError
        Naming the file, and the line and column where it applies.
    ValueError
        For a delimiter or decimal mark that cannot be one.
    """
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lower()
    delimiter = check_table_format(delimiter, decimal)
    na_values = _check_markers(na_values)
    with open_regular(path):  # refuses FIFOs, devices and directories before anything reads them
        pass
    if extension not in EXTENSIONS:
        raise DataError(
            f"{shown_path(path)}: unknown file type {quoted(extension) if extension else '(no extension)'}; "
            f"use {', '.join(EXTENSIONS)}"
        )
    try:
        if extension == ".npy":
            names, values = _read_npy(path)
        else:
            names, values = _read_text_table(path, extension, delimiter, decimal, text_encoding(encoding), na_values)
    except UnicodeError as error:  # beyond a bad byte (caught where it is read): no BOM for utf-16, say
        raise DataError(f"{shown_path(path)}: cannot be read as {encoding} text ({short_message(error)})") from None
    except OSError as error:  # a read that fails midway: an I/O error, a file that vanished
        raise DataError(f"{shown_path(path)}: cannot be read ({short_message(error)})") from None
    left_out = ()
    if columns is None and numeric_only and not isinstance(values, np.ndarray):
        candidates = [j for j in range(len(names)) if j not in set_aside]
        bare = _without_attrs(values)
        numeric, filled = _numeric_dtypes(bare), bare.notna().any().to_numpy()
        # A column pandas read as numbers holds numbers where it holds anything: no column loop
        # for those (a table of 100,000 columns).
        reasons = {
            j: ("" if filled[j] else "it holds no values") if numeric[j] else _not_numeric(bare[j], decimal)
            for j in candidates
        }
        left_out = tuple((names[j], why) for j, why in reasons.items() if why)
        positions = [j for j, why in reasons.items() if not why]
        if not positions:
            raise DataError(f"{shown_path(path)}: no column holds numbers ({_listed(names)})")
    else:
        positions = choose_columns(path, names, columns)
    table = _to_samples(path, names, values, positions, missing, decimal)
    return table._replace(delimiter=None if extension == ".npy" else values.attrs["delimiter"], left_out=left_out)


# Characters that can never separate a table's fields: line ends, the quote, and (as neither
# can be told from a number's) digits and the signs.
_NEVER_DELIMITERS = {"\n": "a newline", "\r": "a carriage return", '"': "the quote character", "\0": "a NUL"}


def check_table_format(delimiter, decimal):
    """The delimiter to read with (a space as any run of blanks), after refusing a delimiter or
    decimal mark that cannot be one, with a ``ValueError`` that says why."""
    for name, mark in (("delimiter", delimiter), ("decimal mark", decimal)):
        if mark is None and name == "delimiter":
            continue
        if not isinstance(mark, str) or len(mark) != 1:
            shown = quoted(mark) if isinstance(mark, str) else type(mark).__name__
            raise ValueError(f"the {name} must be one character, got {shown}")
        if name == "delimiter" and not mark.isascii():
            # pandas' C parser splits the line's UTF-8 bytes on one byte, and refuses (with its
            # own ValueError) any other delimiter; a decimal mark it takes as a character.
            raise ValueError(f"the delimiter must be an ASCII character (a table is split on one byte), got {mark!r}")
        if mark in _NEVER_DELIMITERS:
            raise ValueError(f"the {name} cannot be {_NEVER_DELIMITERS[mark]} ({mark!r})")
        if mark in "0123456789+-":
            raise ValueError(f"the {name} cannot be {mark!r}: numbers are written with it")
    if decimal in "eE":
        raise ValueError(f"the decimal mark cannot be {decimal!r}: numbers such as 1e5 are written with it")
    if not decimal.strip():
        raise ValueError(f"the decimal mark cannot be a blank ({decimal!r})")
    if delimiter is not None and delimiter == decimal:
        raise ValueError(f"the delimiter and the decimal mark cannot both be {delimiter!r}")
    return r"\s+" if delimiter == " " else delimiter


def _check_markers(na_values):
    if na_values is None:
        return []
    if isinstance(na_values, str) or not all(isinstance(marker, str) for marker in na_values):
        raise TypeError("na_values must be a list of strings, such as ['?', '-999']")
    return [marker.strip() for marker in na_values]


def open_regular(path):
    """Open ``path`` for reading in binary mode, refusing anything but a regular file.

    A FIFO would block for ever, a device such as ``/dev/zero`` never ends, and a directory is
    no data: each gets a ``DataError`` before a byte is read. The file is opened without
    blocking (where the system has such a flag) and checked by its open descriptor, so what is
    checked is what is read.
    """
    nonblocking = getattr(os, "O_NONBLOCK", 0)  # POSIX; Windows opens no FIFO by a plain path
    try:
        descriptor = os.open(path, os.O_RDONLY | nonblocking | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise DataError(f"{shown_path(path)}: no such file") from None
    except OSError as error:
        raise DataError(f"{shown_path(path)}: cannot be opened ({short_message(error)})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise DataError(f"{shown_path(path)}: is {_file_kind(mode)}, not a regular file")
    if nonblocking:
        os.set_blocking(descriptor, True)
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
        raise DataError(f"{shown_path(path)}: the array is empty (shape {header.shape})")
    try:
        array = np.load(path, allow_pickle=False, mmap_mode="r")
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"{shown_path(path)}: not a readable .npy file ({short_message(error)})") from None
    if array.shape != header.shape or array.dtype != header.dtype:  # replaced since it was checked
        raise DataError(f"{shown_path(path)}: the file changed while it was being read")
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
        match = re.fullmatch(r"column ([0-9]+)", name)
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


def _sniff(path, extension, encoding, decimal="."):
    """The delimiter the first lines that hold anything use consistently (see ``read_table``);
    never the decimal mark."""
    if extension == ".tsv":
        return "\t"
    with open(path, encoding=encoding, errors="replace") as handle:
        lines = [line.rstrip("\r\n") for line, _ in zip(handle, range(50))]
    lines = [line for line in lines if line.strip()]  # blank lines say nothing about the delimiter
    candidates = [candidate for candidate in (",", ";", "\t", "|") if candidate != decimal]
    for candidate in candidates:
        counts = {line.count(candidate) for line in lines}
        if len(counts) == 1 and counts.pop() > 0:
            return candidate
    if lines and all(len(line.split()) == len(lines[0].split()) > 1 for line in lines):
        return r"\s+"
    # None is used evenly: one on every line is the delimiter of a ragged table, which is
    # then refused for its ragged line rather than read as one column of text.
    for candidate in candidates:
        if lines and all(candidate in line for line in lines):
            return candidate
    if lines and all(len(line.split()) > 1 for line in lines):
        return r"\s+"
    return candidates[0]


def _read_text_table(path, extension, delimiter, decimal, encoding, na_values=()):
    """(column names, a DataFrame of the cells, as numbers where pandas could read them)."""
    import pandas as pd

    delimiter = delimiter or _sniff(path, extension, encoding, decimal)
    if delimiter == decimal:
        raise ValueError(f"the delimiter and the decimal mark cannot both be {delimiter!r}")
    options = dict(
        sep=delimiter,
        decimal=decimal,
        encoding=encoding,
        skip_blank_lines=True,
        skipinitialspace=True,
        engine="c",
        index_col=False,  # pandas would take a first column the header has no name for as the index
    )
    try:
        # The first line as written (no cell read as missing), for the header and the field count.
        first = pd.read_csv(path, header=None, nrows=1, dtype=str, na_filter=False, **options)
    except pd.errors.EmptyDataError:
        raise DataError(f"{shown_path(path)}: the file is empty") from None
    except UnicodeDecodeError:
        raise DataError(_not_text_message(path, encoding)) from None
    except (pd.errors.ParserError, OSError) as error:
        raise DataError(f"{shown_path(path)}: not a readable table ({short_message(error)})") from None
    cells = [cell.strip() for cell in first.iloc[0].tolist()]
    n_fields = len(cells)
    header = any(cells) and not any(_is_number(cell, decimal) for cell in cells)
    try:
        # Every line is read as n_fields fields: one with more is an error (not an index), or
        # where the first data line has more, a warning that pandas cut them off.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            table = pd.read_csv(
                path,
                header=0 if header else None,
                names=range(n_fields),
                keep_default_na=True,
                na_values=list(na_values),
                **options,
            )
    except pd.errors.EmptyDataError:
        raise DataError(f"{shown_path(path)}: the file is empty") from None
    except pd.errors.ParserError as error:
        raise DataError(_ragged_message(path, error, header, encoding, delimiter)) from None
    except UnicodeDecodeError:
        raise DataError(_not_text_message(path, encoding)) from None
    except OSError as error:
        raise DataError(f"{shown_path(path)}: cannot be read ({short_message(error)})") from None
    if table.shape[0] == 0:
        raise DataError(
            f"{shown_path(path)}: the file has a header line ({_first_line(path, encoding, delimiter)}) but no data"
        )
    # ... and one with fewer is filled in with gaps, which only the last column can show.
    cut = any(issubclass(warning.category, pd.errors.ParserWarning) for warning in caught)
    if cut or table[n_fields - 1].isna().any():
        short = _short_line(path, encoding, delimiter, n_fields, header)
        if short is not None:
            raise DataError(_fields_message(path, *short, n_fields, header, _first_line(path, encoding, delimiter)))
        if cut:  # pandas and the count disagree (an odd quote, say): still never cut off silently
            raise DataError(f"{shown_path(path)}: a line has more fields than the first line ({n_fields})")
    names = _unique([cell or f"column {j + 1}" for j, cell in enumerate(cells)]) if header else None
    # Line numbers: pandas skipped blank lines, so count them back from the file itself.
    table.attrs["lines"] = _data_line_numbers(path, header, table.shape[0], encoding, delimiter)
    table.attrs["delimiter"] = "whitespace" if delimiter == r"\s+" else delimiter
    table.attrs["read"] = dict(options, header=0 if header else None, names=range(n_fields), path=path)
    return names or ColumnNames(n_fields), table


def _unique(names):
    """Names with a repeated one numbered as pandas numbers it (``a``, ``a.1``, ...)."""
    seen, unique = collections.Counter(), []
    for name in names:
        unique.append(name if not seen[name] else f"{name}.{seen[name]}")
        seen[name] += 1
    return unique


def _first_line(path, encoding, delimiter):
    """The number of the first line that holds anything (the header, when there is one)."""
    with open(path, encoding=encoding, errors="replace") as handle:
        return next((number for number, line in enumerate(handle, start=1) if _holds_something(line, delimiter)), 1)


def _holds_something(line, delimiter):
    """Whether pandas reads ``line`` as a row: a line of blanks is skipped, unless the delimiter
    is one of them (a tab table's line of tabs is a row of empty cells)."""
    return bool(line.strip()) or (delimiter != r"\s+" and delimiter in line.rstrip("\r\n"))


def _blank(record):
    return not record or (len(record) == 1 and not record[0].strip())


def _short_line(path, encoding, delimiter, n_fields, header):
    """(line, fields) of the first line after the header with other than ``n_fields`` fields,
    or None. Fields are counted as pandas' C parser counts them (quotes included)."""
    import csv

    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        if delimiter == r"\s+":
            records = ((number, line.split()) for number, line in enumerate(handle, start=1))
        else:
            reader = csv.reader(handle, delimiter=delimiter, quotechar='"', skipinitialspace=True, strict=False)
            records = ((reader.line_num, record) for record in reader)
        skip_header = header
        for number, record in records:
            if _blank(record):
                continue
            if skip_header:
                skip_header = False
                continue
            if len(record) != n_fields:
                return number, len(record)
    return None


def _fields_message(path, line, fields, n_fields, header, first_line):
    """One line for a line of ``fields`` fields where the first line (the header) has ``n_fields``."""
    what = f"line {first_line} (the {'header' if header else 'first line'})"
    return (
        f"{shown_path(path)}, line {line}: {fields} {'field' if fields == 1 else 'fields'}, "
        f"but {what} has {n_fields}; every line needs the same number"
    )


def _not_text_message(path, encoding):
    return f"{shown_path(path)}: not a text file in {_shown(encoding)}{_encoding_hint(path, encoding)}"


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


def _data_line_numbers(path, header, n_rows, encoding, delimiter):
    """The 1-based line number of each data row (blank lines, and a header, skipped)."""
    with open(path, encoding=encoding, errors="replace") as handle:
        numbers = [number for number, line in enumerate(handle, start=1) if _holds_something(line, delimiter)]
    numbers = numbers[1:] if header else numbers
    if len(numbers) < n_rows:  # quoted cells spanning lines: fall back on counting rows
        return np.arange(n_rows) + 1 + header
    return np.asarray(numbers[:n_rows])


def _is_number(text, decimal):
    """Whether ``text`` is a number as pandas' parser reads one: ASCII digits only."""
    text = text.strip()
    return bool(NUMBER.fullmatch(text.replace(decimal, ".") if decimal != "." else text))


def is_count(text):
    """Whether ``text`` is a count written in ASCII digits (``str.isdigit`` also takes "²")."""
    return re.fullmatch(r"[0-9]+", text) is not None


def short_message(error):
    """The last line of an exception's message (or its type's name)."""
    text = getattr(error, "strerror", None) or str(error)
    return text.strip().splitlines()[-1] if text.strip() else type(error).__name__


def _ragged_message(path, error, header, encoding, delimiter):
    match = re.search(r"Expected ([0-9]+) fields in line ([0-9]+), saw ([0-9]+)", str(error))
    if match:
        expected, line, saw = map(int, match.groups())
        return _fields_message(path, line, saw, expected, header, _first_line(path, encoding, delimiter))
    return f"{shown_path(path)}: not a readable table ({short_message(error)})"


def _listed(names, most=12):
    return ", ".join(quoted(name) for name in names[:most]) + (", ..." if len(names) > most else "")


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
        elif is_count(column) and 1 <= int(column) <= len(names):
            positions.append(int(column) - 1)
        else:
            raise DataError(
                f"{shown_path(path)}: no column {quoted(column)} (the columns are {_listed(names)}; "
                f"or give a number from 1 to {len(names)})"
            )
    if len(set(positions)) != len(positions):
        raise DataError(f"{shown_path(path)}: a column is asked for twice in {flag}")
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


def _raw_cell(table, row, position):
    """A cell's text as the file has it (for a message: "NA", "?" or an empty cell)."""
    import pandas as pd

    options = dict(table.attrs["read"])
    path = options.pop("path")
    cells = pd.read_csv(path, dtype=str, na_filter=False, usecols=[position], **options)
    return cells[position].iloc[row].strip()


def _number_cells(column, decimal):
    """(the column as float64, a mask of its cells that hold something other than a number)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column.dtype):  # True and False are not numbers
        return np.full(len(column), np.nan), column.notna().to_numpy()
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype=np.float64, na_value=np.nan), np.zeros(len(column), bool)
    values = column.astype(object)
    # Only text can be a number: pandas reads True and False as bools even among gaps.
    text = values.where(values.map(lambda value: isinstance(value, str)))
    if decimal != ".":  # what pandas could not read whole, it left with the user's decimal mark
        text = text.str.replace(decimal, ".", regex=False)
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return numbers, np.isnan(numbers) & column.notna().to_numpy()


_DECIMAL_COMMA = r"\s*-?[0-9]+,[0-9]+\s*"


def _not_numeric(column, decimal):
    """Why a column cannot be clustered at all ("it holds text", ...), or "" when it holds a
    number (any other cell in it is then an error in a numeric column)."""
    import pandas as pd

    filled = column.notna().to_numpy()
    if not filled.any():
        return "it holds no values"
    _, others = _number_cells(column, decimal)
    if (filled & ~others).any():
        return ""
    if decimal == "." and column[others].astype(str).str.fullmatch(_DECIMAL_COMMA).any():
        return ""  # numbers, with another decimal mark: said so where the first is refused
    if pd.api.types.is_bool_dtype(column.dtype) or column[filled].map(lambda v: isinstance(v, (bool, np.bool_))).all():
        return "it holds True and False"
    return "it holds text"


def _numeric_dtypes(table):
    """Whether each column of ``table`` was read as numbers (not True and False)."""
    return np.array([kind in "iuf" for kind in (dtype.kind for dtype in table.dtypes)], bool)


def _without_attrs(table):
    """``table`` without its ``attrs``, which pandas deep-copies into every column taken from
    it: a table of many columns took minutes to read for that alone."""
    bare = table.copy(deep=False)
    bare.attrs = {}
    return bare


def _table_to_samples(path, names, table, positions, missing, decimal):
    lines, as_read = table.attrs["lines"], table
    table = _without_attrs(table)

    def where(row, position):
        return f"{shown_path(path)}, line {lines[row]}, {_describe(names, position)}"

    numeric = _numeric_dtypes(table)
    parsed = [position for position in positions if numeric[position]]
    columns = dict(zip(parsed, table[parsed].to_numpy(dtype=np.float64, na_value=np.nan).T))
    for position in positions:
        if position in columns:  # read as numbers by pandas, all at once
            continue
        column = table[position]
        numbers, others = _number_cells(column, decimal)
        if others.any():
            row = int(np.flatnonzero(others)[0])
            cell = str(column.iloc[row]).strip()
            why = _not_numeric(column, decimal)
            if why:
                raise DataError(
                    f"{shown_path(path)}: {_describe(names, position)} is not numeric: {why} "
                    f"(line {lines[row]}: {quoted(cell)}); choose the columns to cluster with --columns"
                )
            if _is_number(cell, decimal):  # "inf": a number, but not a finite one
                raise DataError(f"{where(row, position)}: {quoted(cell)} is not a finite number")
            if decimal == "." and re.fullmatch(_DECIMAL_COMMA, cell):
                hint = " (a decimal comma? add --decimal ,)"
            elif "," not in cell and len(cell) <= QUOTE_LIMIT:
                hint = f"; if it marks a missing value, add --na-values {shlex.quote(cell)}"
            else:
                hint = ""
            raise DataError(f"{where(row, position)}: {quoted(cell)} is not a number{hint}")
        columns[position] = numbers
    matrix = np.column_stack([columns[position] for position in positions])
    gaps = table[positions].isna().to_numpy()  # empty cells and missing-value markers

    def gap(row, column):
        cell = _raw_cell(as_read, row, positions[column])
        return f"{where(row, positions[column])}: " + (f"{quoted(cell)}, a missing value" if cell else "empty cell")

    matrix, rows = _drop_or_refuse_gaps(path, matrix, gaps, missing, gap)
    bad = ~np.isfinite(matrix)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        text = str(table[positions[column]].iloc[rows[row]]).strip()
        raise DataError(f"{where(rows[row], positions[column])}: {quoted(text)} is not a finite number")
    return _as_float32(path, matrix, rows, table.shape[0], [names[p] for p in positions], where, positions)


def _array_to_samples(path, names, array, positions, missing):
    """A ``.npy`` array: NaN is a missing value, infinity an error."""

    def where(row, position):
        return f"{shown_path(path)}, row {row + 1}, {_describe(names, position)}"

    matrix = np.asarray(array[:, positions] if positions != list(range(array.shape[1])) else array)
    if matrix.dtype.kind == "f":
        gaps = np.isnan(matrix)
        matrix, rows = _drop_or_refuse_gaps(
            path, matrix, gaps, missing, lambda row, column: f"{where(row, positions[column])}: NaN, a missing value"
        )
        infinite = np.isinf(matrix)
        if infinite.any():
            row, column = np.argwhere(infinite)[0]
            raise DataError(f"{where(rows[row], positions[column])}: {matrix[row, column]} is not a finite number")
    else:
        rows = np.arange(array.shape[0])
    return _as_float32(path, matrix, rows, array.shape[0], [names[p] for p in positions], where, positions)


def _drop_or_refuse_gaps(path, matrix, gaps, missing, gap):
    rows = np.arange(matrix.shape[0])
    if not gaps.any():
        return matrix, rows
    if missing == "drop":
        keep = ~gaps.any(axis=1)
        if not keep.any():
            raise DataError(f"{shown_path(path)}: every row has a missing value in the columns used; nothing is left")
        return matrix[keep], rows[keep]
    row, column = np.argwhere(gaps)[0]
    raise DataError(f"{gap(row, column)}; --missing drop leaves out the rows that have one")


def _as_float32(path, matrix, rows, n_rows, feature_names, where, positions):
    with np.errstate(over="ignore"):  # found and reported just below
        samples = matrix.astype(np.float32)
    if not np.all(np.isfinite(samples)):
        row, column = np.argwhere(~np.isfinite(samples))[0]
        raise DataError(f"{where(rows[row], positions[column])}: {matrix[row, column]} is too large for float32")
    return Table(samples, feature_names, rows, n_rows)


def looks_like_an_id(column, rows=None):
    """Whether a column counts the rows 0, 1, 2, ... or 1, 2, 3, ... (an id, not a measurement).
    ``rows`` are the data rows the values come from, so that an id still counts its rows when
    rows with gaps were left out. The first values decide most columns at once."""
    rows = np.arange(len(column)) if rows is None else np.asarray(rows)
    if len(column) <= 2 or column[0] - rows[0] not in (0, 1):
        return False
    offset = column[0] - rows[0]
    if np.any(column[:16] != rows[:16] + offset):
        return False
    return bool(np.all(column == rows + offset))


# --- a .npy file as a tf.data.Dataset ----------------------------------------------------------

# The most bytes of a .npy file read as one batch when it is streamed, as in the file and as
# float32 after decoding, whichever is larger.
BATCH_BYTES = 64 * 2**20
# The most rows of a streamed batch.
STREAM_BATCH_ROWS = 65_536
# The .npy types TensorFlow decodes itself; unsigned 32- and 64-bit integers are decoded as
# the signed ones and their bits reinterpreted; any other type the loader takes (float128,
# say) is decoded by NumPy.
_DECODED = {"f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2"}
_REINTERPRETED = {"u4": ("int32", "uint32"), "u8": ("int64", "uint64")}


def batch_rows(path, n_samples, n_features, dtype, batch_bytes=BATCH_BYTES):
    """Rows per batch of a streamed .npy file: as many as fit in ``batch_bytes``, both as the
    file holds them and as float32, at most ``STREAM_BATCH_ROWS``. A row that does not fit is
    ``DataError``."""
    row_bytes = n_features * max(dtype.itemsize, 4)
    if row_bytes > batch_bytes:
        raise DataError(
            f"{path}: one row of {n_features:,} features is {row_bytes / 2**20:,.0f} MiB, more than a streamed "
            f"batch may take ({batch_bytes / 2**20:,.0f} MiB); streaming reads whole rows: load the file "
            "without --stream, or store it with fewer features per row"
        )
    return max(1, min(STREAM_BATCH_ROWS, batch_bytes // row_bytes, n_samples))


def npy_dataset(path, columns=None, batch_bytes=BATCH_BYTES):
    """A ``.npy`` file as a dataset of float32 batches, read by TensorFlow in fixed-length
    records of at most ``batch_bytes`` (``batch_rows``): the file is never mapped into memory,
    and only the batches in flight are held. The header is checked against the file first
    (``npy_header``), so the records are exactly the file's rows.

    Returns ``(dataset, n_samples, n_features)``. ``columns``: 0-based positions to keep.
    Raises ``DataError`` for a file that cannot be streamed.
    """
    from ._tensorflow import tf

    header = npy_header(path)
    if header.fortran_order:
        raise DataError(
            f"{path}: the array is stored column by column (Fortran order), which cannot be streamed row by row; "
            "save it with np.save(path, np.ascontiguousarray(array))"
        )
    n_samples, n_features = header.shape
    if n_samples == 0 or n_features == 0:
        raise DataError(f"{path}: the array is empty (shape {header.shape})")
    dtype = header.dtype
    row_bytes = n_features * dtype.itemsize
    rows_per_batch = batch_rows(path, n_samples, n_features, dtype, batch_bytes)
    full_batches, remainder = divmod(n_samples, rows_per_batch)
    little_endian = dtype.byteorder == "<" or (dtype.byteorder in "=|" and sys.byteorder == "little")
    code = f"{dtype.kind}{dtype.itemsize}"

    def decode_values(record):
        if code in _DECODED:
            return tf.io.decode_raw(record, tf.as_dtype(np.dtype(code)), little_endian=little_endian)
        if code in _REINTERPRETED:
            signed, unsigned = _REINTERPRETED[code]
            return tf.bitcast(tf.io.decode_raw(record, tf.as_dtype(signed), little_endian=little_endian), unsigned)
        values = tf.numpy_function(lambda raw: np.frombuffer(raw, dtype).astype(np.float32), [record], tf.float32)
        return tf.ensure_shape(values, [None])

    def decode(record):
        batch = tf.cast(tf.reshape(decode_values(record), [-1, n_features]), tf.float32)
        return batch if columns is None else tf.gather(batch, columns, axis=1)

    parts = []
    if full_batches:
        parts.append(
            tf.data.FixedLengthRecordDataset(
                str(path),
                record_bytes=rows_per_batch * row_bytes,
                header_bytes=header.offset,
                footer_bytes=remainder * row_bytes,
            )
        )
    if remainder:
        parts.append(
            tf.data.FixedLengthRecordDataset(
                str(path),
                record_bytes=remainder * row_bytes,
                header_bytes=header.offset + full_batches * rows_per_batch * row_bytes,
            )
        )
    records = parts[0] if len(parts) == 1 else parts[0].concatenate(parts[1])
    dataset = records.map(decode, num_parallel_calls=2, deterministic=True).prefetch(1)
    return dataset, n_samples, n_features if columns is None else len(columns)
