"""Reading tables and .npy files: delimiters, headers, columns, gaps, and every bad file."""

import os

import numpy as np
import pytest

from conftest import run_python
from tfkmeans import load_samples
from tfkmeans._input import DataError, npy_dataset, read_table

EXPECTED = np.array([[0, 0], [0, 1], [10, 10], [10, 11]], dtype=np.float32)


@pytest.mark.parametrize(
    "name, text, options, names",
    [
        ("commas.csv", "x,y\n0,0\n0,1\n10,10\n10,11\n", {}, ["x", "y"]),
        ("semicolons.csv", "x;y\n0;0\n0;1\n10;10\n10;11\n", {}, ["x", "y"]),
        ("tabs.tsv", "x\ty\n0\t0\n0\t1\n10\t10\n10\t11\n", {}, ["x", "y"]),
        ("spaces.txt", "x y\n0 0\n0  1\n10 10\n10 11\n", {}, ["x", "y"]),
        ("pipes.csv", "x|y\n0|0\n0|1\n10|10\n10|11\n", {"delimiter": "|"}, ["x", "y"]),
        ("decimal.csv", "x;y\n0,0;0\n0,0;1,0\n10;10\n10;11\n", {"decimal": ","}, ["x", "y"]),
        ("blank_lines.csv", "x,y\n\n0,0\n0,1\n\n10,10\n10,11\n\n", {}, ["x", "y"]),
        ("no_header.csv", "0,0\n0,1\n10,10\n10,11\n", {}, ["column 1", "column 2"]),
        ("quoted.csv", '"x","y"\n"0","0"\n0,1\n10,"10"\n10,11\n', {}, ["x", "y"]),
        ("bom.csv", "\ufeffx,y\n0,0\n0,1\n10,10\n10,11\n", {}, ["x", "y"]),
        ("crlf.csv", "x,y\r\n0,0\r\n0,1\r\n10,10\r\n10,11\r\n", {}, ["x", "y"]),
    ],
)
def test_table_forms(tmp_path, name, text, options, names):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    table = read_table(path, **options)
    np.testing.assert_array_equal(table.samples, EXPECTED)
    assert table.samples.dtype == np.float32 and table.feature_names == names
    assert table.rows.tolist() == [0, 1, 2, 3] and table.n_rows == 4


def test_columns_by_name_or_number_and_gaps_dropped(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("id,name,height,weight\n1,ann,1.6,60\n2,bob,,80\n3,cy,1.8,75\n4,di,1.7,\n5,ed,1.9,90\n")
    table = read_table(path, columns=["height", "4"], missing="drop")
    np.testing.assert_allclose(table.samples, [[1.6, 60], [1.8, 75], [1.9, 90]], rtol=1e-6)
    assert table.feature_names == ["height", "weight"] and table.rows.tolist() == [0, 2, 4] and table.n_rows == 5


def test_npy_columns_and_missing_values(tmp_path):
    np.save(tmp_path / "a.npy", np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 6.0], [7.0, 8.0, 9.0]]))
    table = read_table(tmp_path / "a.npy", columns=["3", "1"], missing="error")
    np.testing.assert_array_equal(table.samples, [[3, 1], [6, 4], [9, 7]])
    assert table.feature_names == ["column 3", "column 1"]
    with pytest.raises(DataError, match=r"a.npy, row 2, column 2: NaN, a missing value"):
        read_table(tmp_path / "a.npy")
    assert read_table(tmp_path / "a.npy", missing="drop").rows.tolist() == [0, 2]


@pytest.mark.parametrize(
    "text, options, message",
    [
        ("", {}, "the file is empty"),
        ("\n\n", {}, "the file is empty"),
        ("a,b\n", {}, "has a header line (1) but no data"),
        (
            "x,y\n1,2\n\n3,banana\n",
            {},
            "line 4, column 2 ('y'): 'banana' is not a number; if it marks a missing value, add --na-values banana",
        ),
        ("1,2\n3,4,5\n", {}, "line 2: 3 fields, but line 1 (the first line) has 2; every line needs the same number"),
        ("x,y\n1,2\n3,\n", {}, "line 3, column 2 ('y'): empty cell; --missing drop"),
        ("x,y\n1,2\nnan,4\n", {}, "line 3, column 1 ('x'): 'nan', a missing value; --missing drop"),
        ("x,y\n1,2\n3,-inf\n", {}, "line 3, column 2 ('y'): '-inf' is not a finite number"),
        ("x,y\n1,2\n3,1e39\n", {}, "line 3, column 2 ('y'): 1e+39 is too large for float32"),
        ("x,y\n,2\n3,\n", {"missing": "drop"}, "every row has a missing value"),
        ("x,y\n1,2\n", {"columns": ["z"]}, "no column 'z' (the columns are 'x', 'y'; or give a number from 1 to 2)"),
        ("x,y\n1,2\n", {"columns": ["3"]}, "no column '3'"),
        ("x;y\n1,5;2\n", {}, "'1,5' is not a number (a decimal comma? add --decimal ,)"),
    ],
)
def test_bad_tables(tmp_path, text, options, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DataError) as caught:
        read_table(path, **options)
    assert message in str(caught.value) and str(caught.value).startswith(str(path))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b"\xff\xfe\x00garbage"), "not a text file in UTF-8; it starts as UTF-16 text does"),
        (lambda p: p.write_bytes(b"x,y\n\x81\x00garbage"), "not a text file in UTF-8; from a spreadsheet on Windows?"),
        (lambda p: p.mkdir(), "is a directory"),
    ],
)
def test_unreadable_files(tmp_path, make, message):
    path = tmp_path / "data.csv"
    make(path)
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_table(path)


def test_a_table_in_another_encoding(tmp_path):
    """A Windows spreadsheet's export (cp1252): read with its encoding, its names as written;
    a UTF-8 byte-order mark is skipped; an encoding Python does not know is refused."""
    path = tmp_path / "export.csv"
    path.write_bytes("Größe;Gewicht €\n1,5;2\n1,75;3\n".encode("cp1252"))
    table = read_table(path, decimal=",", encoding="cp1252")
    path.with_suffix(".txt").write_bytes("Größe Gewicht\n1.5 2\n1.75 3\n".encode("cp1252"))
    np.testing.assert_array_equal(load_samples(path.with_suffix(".txt"), encoding="cp1252"), [[1.5, 2.0], [1.75, 3.0]])
    assert list(table.feature_names) == ["Größe", "Gewicht €"]
    np.testing.assert_array_equal(table.samples, [[1.5, 2.0], [1.75, 3.0]])
    with pytest.raises(DataError, match="not a text file in UTF-8"):
        read_table(path, decimal=",")
    path.write_bytes(b"\xef\xbb\xbf" + "Größe,b\n1,2\n".encode())
    assert list(read_table(path).feature_names) == ["Größe", "b"]
    with pytest.raises(DataError, match="unknown text encoding 'klingon'"):
        read_table(path, encoding="klingon")


def test_a_column_name_typed_with_another_unicode_form_is_the_same_column(tmp_path):
    """'höhe' with ö as one character (NFC, as most files hold it) or as o and a combining
    mark (NFD, as some keyboards and macOS type it) names the same column."""
    import unicodedata

    path = tmp_path / "data.csv"
    path.write_text("id,höhe,b\n1,2,3\n4,5,6\n", encoding="utf-8")
    decomposed = unicodedata.normalize("NFD", "höhe")
    assert decomposed != "höhe"
    table = read_table(path, columns=[decomposed])
    assert list(table.feature_names) == ["höhe"] and table.samples[:, 0].tolist() == [2.0, 5.0]


@pytest.mark.parametrize(
    "encoding, written, message",
    [
        ("rot13", "utf-8", "'rot13' is not a text encoding"),  # a codec, but str to str
        ("base64", "utf-8", "'base64' is not a text encoding"),
        ("utf-16", "utf-16-le", "cannot be read as utf-16 text (UTF-16 stream does not start with BOM)"),
        ("idna", "utf-8", "cannot be read as idna text"),
        ("utf-8", "utf-16", "not a text file in UTF-8; it starts as UTF-16 text does: try --encoding utf-16"),
    ],
)
def test_encodings_that_cannot_read_the_file_get_one_clear_error(tmp_path, encoding, written, message):
    path = tmp_path / "data.csv"
    path.write_bytes("höhe,b\n1,2\n3,4\n".encode(written))
    with pytest.raises(DataError) as caught:
        read_table(path, encoding=encoding)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.arange(5.0), "expected a 2-D array"),
        (np.zeros((0, 2)), "the array is empty"),
        (np.array([["a", "b"]]), "not numbers"),
        (np.array([[1.0, np.inf]]), "row 1, column 2: inf is not a finite number"),
    ],
)
def test_bad_npy(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(DataError, match=message):
        read_table(tmp_path / "bad.npy")


# --- files that lie or are not files ----------------------------------------------------------


def npy_bytes(header, body=b""):
    """A .npy file (format 1.0) with the header dictionary ``header`` (text) and ``body``."""
    text = header.encode("latin1")
    padding = (64 - (10 + len(text) + 1) % 64) % 64
    text += b" " * padding + b"\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text + body


@pytest.mark.parametrize(
    "header, body, words",
    [
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (20971520, 2), }",
            b"\0" * 8 * 1000,
            "the file is truncated",
        ),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 2), }", b"\0" * 8 * 50, "follow the array of shape"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4611686018427387904), }", b"", "truncated"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }", b"", "truncated"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (-5, 2), }", b"", "negative shape"),
        ("{'descr': '|O', 'fortran_order': False, 'shape': (2, 2), }", b"\0" * 32, "Python objects"),
        ("{'descr': '<U3', 'fortran_order': False, 'shape': (2, 2), }", b"\0" * 48, "not numbers"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", b"\0" * 16, "expected a 2-D array"),
        ("{'descr': '<f4', 'shape': (4,), }", b"", "not a readable .npy file"),
        ("not a dictionary", b"", "not a readable .npy file"),
    ],
)
def test_a_npy_header_is_checked_against_the_file_before_anything_is_sized_from_it(tmp_path, header, body, words):
    from tfkmeans._input import npy_header

    path = tmp_path / "lying.npy"
    path.write_bytes(npy_bytes(header, body))
    with pytest.raises(DataError, match=words):
        npy_header(path)
    with pytest.raises(DataError, match=words):
        read_table(path)


def test_a_lying_header_costs_little_memory(tmp_path):
    """A 192-byte file claiming shape (1, 2**62) once made the command build 2**62 column names;
    now it is refused, and the whole process peaks far below 300 MiB."""

    (tmp_path / "huge.npy").write_bytes(
        npy_bytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4611686018427387904), }")
    )
    code = (
        "from tfkmeans.cli import main\n"
        "status = main(['--data', 'huge.npy', '--stream'])\n"
        "peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) // 1024\n"
        "print(status, peak)\n"
    )
    status, peak = map(int, run_python(code, tmp_path, timeout=120).split())
    assert status == 2 and peak < 300, peak


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_only_regular_files_are_read(tmp_path, kind):
    """A FIFO would block for ever and /dev/zero never ends: both are refused at once."""
    import threading

    path = {"fifo": tmp_path / "pipe.csv", "device": "/dev/zero", "directory": tmp_path / "dir.csv"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        os.mkdir(path)
    outcome = []
    reader = threading.Thread(target=lambda: outcome.append(pytest.raises(DataError, read_table, path)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert outcome, "reading blocked"
    expected = {"fifo": "is a FIFO", "device": "is a character device", "directory": "is a directory"}[kind]
    assert expected in str(outcome[0].value)


def test_npy_in_either_byte_order_and_fortran_order_read_the_same(tmp_path):
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.save(tmp_path / "big.npy", X.astype(">f8"))
    np.save(tmp_path / "fortran.npy", np.asfortranarray(X))
    for name in ("big.npy", "fortran.npy"):
        np.testing.assert_array_equal(read_table(tmp_path / name).samples, X.astype(np.float32))


def test_an_unreadable_file_is_one_clear_error(tmp_path):

    if os.geteuid() == 0:  # root can open any file; /proc/self/mem opens, and reading it fails
        path = tmp_path / "mem.csv"
        os.symlink("/proc/self/mem", path)
    else:
        path = tmp_path / "secret.csv"
        path.write_text("1,2\n")
        path.chmod(0)
    with pytest.raises(DataError):
        read_table(path)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"delimiter": "\n"}, "the delimiter cannot be a newline"),
        ({"delimiter": "\r"}, "the delimiter cannot be a carriage return"),
        ({"delimiter": '"'}, "the delimiter cannot be the quote character"),
        ({"delimiter": "\0"}, "the delimiter cannot be a NUL"),
        ({"delimiter": ""}, "the delimiter must be one character, got ''"),
        ({"delimiter": ";;"}, "the delimiter must be one character, got ';;'"),
        ({"delimiter": "-"}, "the delimiter cannot be '-': numbers are written with it"),
        ({"delimiter": ",", "decimal": ","}, "the delimiter and the decimal mark cannot both be ','"),
        ({"decimal": "E"}, "the decimal mark cannot be 'E'"),
        ({"decimal": " "}, "the decimal mark cannot be a blank (' ')"),
        ({"decimal": ".."}, "the decimal mark must be one character"),
        ({"decimal": 5}, "the decimal mark must be one character, got int"),
    ],
)
def test_a_delimiter_or_decimal_mark_that_cannot_be_one_is_a_value_error(tmp_path, options, message):
    """Refused before the file is read (pandas said "Specified \\n as separator or delimiter")."""
    path = tmp_path / "t.csv"
    path.write_text("x,y\n1,2\n")
    with pytest.raises(ValueError) as caught:
        read_table(path, **options)
    assert message in str(caught.value) and not isinstance(caught.value, DataError)


def test_numeric_only_leaves_out_empty_text_and_boolean_columns_and_keeps_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,empty,name,flag,b,na\n1,,x,True,2,NA\n3,,y,False,?,n/a\n5,,z,True,6,\n")
    table = read_table(path, numeric_only=True, na_values=["?"], missing="drop")
    assert table.feature_names == ["a", "b"]
    assert table.left_out == (
        ("empty", "it holds no values"),
        ("name", "it holds text"),
        ("flag", "it holds True and False"),
        ("na", "it holds no values"),
    )
    np.testing.assert_array_equal(table.samples, [[1, 2], [5, 6]])
    with pytest.raises(DataError, match=r"line 3, column 5 \('b'\): '\?' is not a number"):
        read_table(path, numeric_only=True)  # a column of numbers with a word in it is not left out


def test_na_values_must_be_a_list_of_strings(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("x,y\n1,?\n")
    with pytest.raises(TypeError, match="na_values must be a list of strings"):
        read_table(path, na_values="?")
    with pytest.raises(TypeError, match="na_values must be a list of strings"):
        read_table(path, na_values=[-999])


def test_npy_streamed_in_records_equals_the_file(tmp_path):
    X = np.arange(7 * 3, dtype=np.float64).reshape(7, 3)
    np.save(tmp_path / "x.npy", X)
    dataset, n_samples, n_features = npy_dataset(tmp_path / "x.npy", batch_bytes=3 * 3 * 8)
    parts = [batch.numpy() for batch in dataset]
    assert (n_samples, n_features) == (7, 3) and [len(part) for part in parts] == [3, 3, 1]
    np.testing.assert_array_equal(np.concatenate(parts), X.astype(np.float32))
    columns, _, width = npy_dataset(tmp_path / "x.npy", batch_bytes=4 * 3 * 8, columns=[2, 0])
    assert width == 2
    np.testing.assert_array_equal(np.concatenate([b.numpy() for b in columns]), X[:, [2, 0]].astype(np.float32))


@pytest.mark.slow
def test_the_package_imports_reads_and_fits_where_fcntl_is_missing(tmp_path):
    """TensorFlow runs natively on Windows, which has no ``fcntl``: with the module blocked, the
    package imports, reads a table and a .npy file, and fits; the command runs on a table."""
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4\n5,7\n8,8\n")
    np.save(tmp_path / "t.npy", np.arange(12.0).reshape(6, 2))
    code = (
        "import sys\n"
        "sys.modules['fcntl'] = None  # import fcntl now raises ImportError, as on Windows\n"
        "import tfkmeans\n"
        "from tfkmeans import KMeans, load_samples\n"
        "from tfkmeans.cli import main\n"
        "X = load_samples('t.csv')\n"
        "assert load_samples('t.npy').shape == (6, 2)\n"
        "print(sorted(KMeans(2, n_init=1, random_state=0).fit(X).labels_.tolist()))\n"
        "assert main(['--data', 't.csv', '--n-clusters', '2', '--save', 'f.png', '-q']) == 0\n"
        "assert 'fcntl' not in [name for name in sys.modules if sys.modules[name] is not None]\n"
    )
    assert "[0, 0, 1, 1]" in run_python(code, tmp_path).splitlines()
