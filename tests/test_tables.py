"""Real tables, as others write them: the Palmer penguins CSV, pandas' missing-value markers,
headers that do not fit their rows, True and False, every delimiter with blank lines."""

import csv
import io
import re

import numpy as np
import pandas as pd
import pytest

from conftest import error_lines
from tfkmeans import load_samples
from tfkmeans._input import MISSING_MARKERS, DataError, read_table

# A sample of penguins.csv as the palmerpenguins package ships it (R's write.csv: quoted
# strings and row numbers, NA for a missing value), rows of all three species, numbered as
# write.csv numbers a table's rows. Row 4 has no measurements; rows 9 and 10 no sex.
PENGUINS = """\
"rowid","species","island","bill_length_mm","bill_depth_mm","flipper_length_mm","body_mass_g","sex","year"
"1","Adelie","Torgersen",39.1,18.7,181,3750,"male",2007
"2","Adelie","Torgersen",39.5,17.4,186,3800,"female",2007
"3","Adelie","Torgersen",40.3,18,195,3250,"female",2007
"4","Adelie","Torgersen",NA,NA,NA,NA,NA,2007
"5","Adelie","Torgersen",36.7,19.3,193,3450,"female",2007
"6","Adelie","Torgersen",39.3,20.6,190,3650,"male",2007
"7","Adelie","Torgersen",38.9,17.8,181,3625,"female",2007
"8","Adelie","Torgersen",39.2,19.6,195,4675,"male",2007
"9","Adelie","Torgersen",34.1,18.1,193,3475,NA,2007
"10","Adelie","Torgersen",42,20.2,190,4250,NA,2007
"11","Gentoo","Biscoe",46.1,13.2,211,4500,"female",2007
"12","Gentoo","Biscoe",50,16.3,230,5700,"male",2007
"13","Gentoo","Biscoe",48.7,14.1,210,4450,"female",2007
"14","Gentoo","Biscoe",50,15.2,218,5700,"male",2007
"15","Gentoo","Biscoe",47.6,14.5,215,5400,"male",2007
"16","Chinstrap","Dream",46.5,17.9,192,3500,"female",2007
"17","Chinstrap","Dream",50,19.5,196,3900,"male",2007
"18","Chinstrap","Dream",51.3,19.2,193,3650,"male",2007
"19","Chinstrap","Dream",45.4,18.7,188,3525,"female",2007
"20","Chinstrap","Dream",52.7,19.8,197,3725,"male",2007
"""
MEASUREMENTS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
NUMERIC = ["rowid", *MEASUREMENTS, "year"]


def penguins_by_hand(columns):
    """The columns asked for, of the rows with no NA among them, read with the csv module."""
    rows = list(csv.DictReader(io.StringIO(PENGUINS)))
    kept = [(i, row) for i, row in enumerate(rows) if all(row[name] != "NA" for name in columns)]
    return np.array([[float(row[name]) for name in columns] for _, row in kept], np.float32), [i for i, _ in kept]


@pytest.fixture
def penguins(tmp_path):
    path = tmp_path / "penguins.csv"
    path.write_text(PENGUINS)
    return path


def test_the_penguins_measurements_are_read_with_their_missing_values(penguins):
    expected, rows = penguins_by_hand(MEASUREMENTS)
    table = read_table(penguins, columns=MEASUREMENTS, missing="drop")
    np.testing.assert_array_equal(table.samples, expected)
    assert table.rows.tolist() == rows == [i for i in range(20) if i != 3] and table.n_rows == 20
    assert table.feature_names == MEASUREMENTS


def test_the_penguins_text_columns_are_named_as_not_numeric(penguins):
    with pytest.raises(DataError) as caught:
        load_samples(penguins)
    message = str(caught.value)
    assert "column 2 ('species') is not numeric: it holds text (line 2: 'Adelie')" in message
    with pytest.raises(DataError, match=r"column 8 \('sex'\) is not numeric: it holds text \(line 2: 'male'\)"):
        read_table(penguins, columns=["bill_length_mm", "sex"], missing="drop")


@pytest.mark.parametrize("column", MEASUREMENTS)
def test_a_numeric_column_with_a_gap_is_never_called_non_numeric(penguins, column):
    """The hint once said "choose the numeric columns" for 'NA' in a numeric column."""
    with pytest.raises(DataError) as caught:
        read_table(penguins, columns=[column])
    message = str(caught.value)
    position = 1 + ["rowid", "species", "island", *MEASUREMENTS].index(column)
    assert f"line 5, column {position} ('{column}'): 'NA', a missing value; --missing drop leaves out" in message
    assert "numeric" not in message.split("penguins.csv")[1]


def test_numeric_only_leaves_out_the_columns_without_numbers(penguins):
    table = read_table(penguins, missing="drop", numeric_only=True)
    assert table.feature_names == NUMERIC
    assert table.left_out == (("species", "it holds text"), ("island", "it holds text"), ("sex", "it holds text"))
    expected, rows = penguins_by_hand(NUMERIC)
    np.testing.assert_array_equal(table.samples, expected)
    assert table.rows.tolist() == rows


def test_the_penguins_csv_clusters_with_only_missing_drop(cli, tmp_path, penguins):
    """A newcomer's run: the text columns and the row number are left out, with a note; the
    four measurements and the year are clustered, as Lloyd's loop from the same start gives."""
    finished = cli("--data", penguins, "--missing", "drop", "--output", "p.json", "--save", "p.png")
    assert finished.returncode == 0, finished.stderr
    assert (
        "Note: not clustered: 'rowid' (counts the rows 1, 2, 3, ...: an id), 'species' (holds text), "
        "'island' (holds text), 'sex' (holds text); --columns chooses the columns." in finished.stdout
    )
    assert "19 samples (1 row with gaps left out), 5 features" in finished.stdout
    import json

    result = json.loads((tmp_path / "p.json").read_text())
    assert result["feature_names"] == [*MEASUREMENTS, "year"]
    samples, rows = penguins_by_hand([*MEASUREMENTS, "year"])
    samples = samples.astype(np.float64)
    centroids = np.array(result["initial_centroids"])
    assert all(np.any(np.all(samples == centroid, axis=1)) for centroid in centroids)  # a random start: samples
    for _ in range(result["iterations"]):
        labels = ((samples[:, None, :] - centroids[None]) ** 2).sum(axis=2).argmin(axis=1)
        centroids = np.array([samples[labels == j].mean(axis=0) for j in range(len(centroids))])
    np.testing.assert_allclose(result["centroids"], centroids, rtol=1e-5)
    assert [result["nearest_indices"][i] for i in rows] == labels.tolist()
    assert result["nearest_indices"][3] is None


def test_the_penguins_csv_without_missing_drop_names_the_gap(cli, penguins):
    finished = cli("--data", penguins, "--save", "p.png")
    assert finished.returncode == 2
    (line,) = error_lines(finished.stderr)
    assert line.endswith(
        "penguins.csv, line 5, column 4 ('bill_length_mm'): 'NA', a missing value; --missing drop leaves out the "
        "rows that have one"
    )
    finished = cli("--data", penguins, "--columns", "species,bill_length_mm", "--save", "p.png")
    assert finished.returncode == 2 and "column 2 ('species') is not numeric" in finished.stderr


# --- missing values -----------------------------------------------------------------------------


@pytest.mark.parametrize("marker", sorted(pd._libs.parsers.STR_NA_VALUES))
def test_every_marker_pandas_reads_as_missing_is_a_missing_value(tmp_path, marker):
    assert marker == "" or marker in MISSING_MARKERS  # the list the docs give is pandas' own
    path = tmp_path / "t.csv"
    path.write_text(f"x,y\n1,2\n{marker},4\n5,6\n")
    table = read_table(path, missing="drop")
    np.testing.assert_array_equal(table.samples, [[1, 2], [5, 6]])
    assert table.rows.tolist() == [0, 2]
    with pytest.raises(DataError) as caught:
        read_table(path)
    shown = "empty cell" if marker == "" else f"{marker!r}, a missing value"
    assert f"line 3, column 1 ('x'): {shown}; --missing drop leaves out the rows that have one" in str(caught.value)


@pytest.mark.parametrize(
    "cell, markers",
    [("?", ["?"]), ("-999", ["-999"]), ("missing", ["?", "missing"]), ("--", [" -- "])],
)
def test_na_values_adds_markers(tmp_path, cell, markers):
    path = tmp_path / "t.csv"
    path.write_text(f"x,y\n1,2\n3,{cell}\n5,6\n")
    if cell == "-999":  # a number: a value like any other until it is named as a marker
        np.testing.assert_array_equal(read_table(path).samples[:, 1], [2, -999, 6])
    else:
        with pytest.raises(DataError) as caught:
            read_table(path)
        assert f"line 3, column 2 ('y'): {cell!r} is not a number; if it marks a missing value, add --na-values" in (
            str(caught.value)
        )
    table = read_table(path, na_values=markers, missing="drop")
    np.testing.assert_array_equal(table.samples, [[1, 2], [5, 6]])
    with pytest.raises(DataError, match=re.escape(f"line 3, column 2 ('y'): '{cell}', a missing value")):
        load_samples(path, na_values=markers)


def test_na_values_on_the_command_line(cli, tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n0,0\n0,1\n?,5\n10,10\n10,-999\n10,11\n")
    finished = cli("--data", "t.csv", "--n-clusters", "2", "--save", "a.png")
    assert finished.returncode == 2 and "add --na-values '?'" in finished.stderr
    finished = cli(
        "--data", "t.csv", "--n-clusters", "2", "--na-values", "?,-999", "--missing", "drop", "--init", "k-means++",
        "--output", "o.json", "--save", "a.png",
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    import json

    result = json.loads((tmp_path / "o.json").read_text())
    assert sorted(result["centroids"]) == [[0.0, 0.5], [10.0, 10.5]]
    assert result["settings"]["na_values"] == ["?", "-999"] and result["settings"]["missing"] == "drop"
    assert [label is None for label in result["nearest_indices"]] == [False, False, True, False, True, False]
    finished = cli("--na-values", "?")
    assert finished.returncode == 2 and "--na-values reads your own data, so it goes with --data" in finished.stderr


def test_columns_not_chosen_may_hold_anything(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('x,notes,y,flag\n1,"a, b",2,True\n3,NA,4,\n5,"x" * 9,6,False\n7,,8,maybe\n')
    table = read_table(path, columns=["x", "y"])
    np.testing.assert_array_equal(table.samples, [[1, 2], [3, 4], [5, 6], [7, 8]])


# --- headers that do not fit their rows -----------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b\n1,2,3\n4,5,6\n", "line 2: 3 fields, but line 1 (the header) has 2"),
        ("a\n1,5\n2,6\n", "line 2: 2 fields, but line 1 (the header) has 1"),
        ("a,b,c\n1,2\n3,4\n", "line 2: 2 fields, but line 1 (the header) has 3"),
        ("a,b\n1,2\n3\n4,5\n", "line 3: 1 field, but line 1 (the header) has 2"),
        ("a,b\n1,2\n\n3,4,5\n", "line 4: 3 fields, but line 1 (the header) has 2"),
        ("\n\na,b\n1,2\n3,4\n5\n", "line 6: 1 field, but line 3 (the header) has 2"),
        ("1,2\n3\n4,5\n", "line 2: 1 field, but line 1 (the first line) has 2"),
        ("1,2\n3,4\n5,6,7\n", "line 3: 3 fields, but line 1 (the first line) has 2"),
        ("a;b\n1;2;3\n", "line 2: 3 fields, but line 1 (the header) has 2"),
        ('"a","b"\n"1,5",2\n3\n', "line 3: 1 field, but line 1 (the header) has 2"),
        ("a b\n1 2 3\n4 5 6\n", "line 2: 3 fields, but line 1 (the header) has 2"),
        ("a b c\n1 2\n3 4\n", "line 2: 2 fields, but line 1 (the header) has 3"),
    ],
)
def test_every_line_has_the_headers_field_count(tmp_path, text, message):
    """pandas took a header's missing names as an index (dropping a column, or clustering the
    5s of "1,5"), and filled short rows in with gaps: now each is one line naming both counts."""
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError) as caught:
        read_table(path, missing="drop", decimal="." if ";" not in text else ",")
    assert str(caught.value) == f"{path}, {message}; every line needs the same number"


@pytest.mark.parametrize(
    "text, names, samples",
    [
        ('"","x","y"\n"1",0,1\n"2",2,3\n', ["column 1", "x", "y"], [[1, 0, 1], [2, 2, 3]]),  # R's row names
        ('x,"a,b"\n1,2\n3,4\n', ["x", "a,b"], [[1, 2], [3, 4]]),  # a quoted delimiter is no field
        ("x,x,y\n1,2,3\n4,5,6\n", ["x", "x.1", "y"], [[1, 2, 3], [4, 5, 6]]),
        ("x,y\n1,\n3,4\n", ["x", "y"], [[3, 4]]),  # an empty cell is a field
    ],
)
def test_lines_that_fit_their_header(tmp_path, text, names, samples):
    path = tmp_path / "t.csv"
    path.write_text(text)
    table = read_table(path, missing="drop")
    assert table.feature_names == names
    np.testing.assert_array_equal(table.samples, samples)


# --- True and False -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cells, message",
    [
        (["True", "False", "True"], "column 2 ('flag') is not numeric: it holds True and False (line 2: 'True')"),
        (["TRUE", "FALSE", "TRUE"], "column 2 ('flag') is not numeric: it holds True and False (line 2: 'True')"),
        (["true", "NA", "false"], "column 2 ('flag') is not numeric: it holds True and False (line 2: 'True')"),
        (["1", "True", "0"], "line 3, column 2 ('flag'): 'True' is not a number"),
    ],
)
def test_true_and_false_are_not_numbers(tmp_path, cells, message):
    path = tmp_path / "t.csv"
    path.write_text("x,flag\n" + "".join(f"{i},{cell}\n" for i, cell in enumerate(cells)))
    with pytest.raises(DataError) as caught:
        read_table(path, missing="drop")
    assert message in str(caught.value)
    with pytest.raises(DataError):
        read_table(path, columns=["flag"], missing="drop")
    if cells[0] != "1":
        table = read_table(path, missing="drop", numeric_only=True)
        assert table.left_out == (("flag", "it holds True and False"),)
        np.testing.assert_array_equal(table.samples, [[0], [1], [2]])


# --- every delimiter, with blank lines --------------------------------------------------------

DELIMITERS = {",": ",", ";": ";", "tab": "\t", "|": "|", "space": " "}
BLANKS = ["none", "start", "middle", "several", "end", "whitespace", "crlf"]
ROWS = [[0.5, -1.0, 3.0], [2.0, 4.25, -6.0], [1e3, 0.0, 7.5], [8.0, 9.0, 10.0]]


def layout(lines, blanks, delimiter):
    """The file's text, and the 1-based line of each of ``lines`` in it."""
    if blanks == "start":
        lines = ["", *lines]
    elif blanks == "middle":
        lines = [*lines[:2], "", *lines[2:]]
    elif blanks == "several":
        lines = [lines[0], "", "", *lines[1:3], "", *lines[3:], ""]
    elif blanks == "end":
        lines = [*lines, "", "", ""]
    elif blanks == "whitespace":
        lines = [lines[0], "   ", *lines[1:3], "  " if delimiter == "\t" else " \t ", *lines[3:]]
    newline = "\r\n" if blanks == "crlf" else "\n"
    if blanks == "crlf":
        lines = [lines[0], "", *lines[1:]]
    numbers = [number for number, line in enumerate(lines, start=1) if line.strip()]
    return newline.join(lines) + newline, numbers


@pytest.mark.parametrize("header", [True, False], ids=["header", "no_header"])
@pytest.mark.parametrize("blanks", BLANKS)
@pytest.mark.parametrize("name", list(DELIMITERS))
def test_every_delimiter_with_blank_lines_is_detected_and_read(tmp_path, name, blanks, header):
    """The delimiter is found from the lines that hold something (blank lines once made a ';'
    table fail), and every error names the line as an editor counts it."""
    delimiter = DELIMITERS[name]
    lines = ([delimiter.join(["a", "b", "c"])] if header else []) + [
        delimiter.join(repr(value) for value in row) for row in ROWS
    ]
    text, numbers = layout(lines, blanks, delimiter)
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode())
    table = read_table(path)
    np.testing.assert_array_equal(table.samples, np.array(ROWS, np.float32))
    assert table.feature_names == (["a", "b", "c"] if header else ["column 1", "column 2", "column 3"])
    assert table.delimiter == ("whitespace" if name == "space" else delimiter)
    assert table.rows.tolist() == [0, 1, 2, 3] and table.n_rows == 4
    # The last row's middle cell made a word: the error names its line.
    lines[-1] = delimiter.join(["8.0", "oops", "10.0"])
    text, numbers = layout(lines, blanks, delimiter)
    path.write_bytes(text.encode())
    with pytest.raises(DataError) as caught:
        read_table(path)
    assert f"line {numbers[-1]}, column 2" in str(caught.value) and "'oops' is not a number" in str(caught.value)


@pytest.mark.parametrize(
    "text, line",
    [
        ("a\tb\tc\n\n1\t2\t3\n\t\t\n4\toops\t6\n", 5),  # a line of tabs is a row of empty cells
        ("a\tb\tc\n1\t2\t3\n   \n4\toops\t6\n", 4),  # a line of spaces is blank
        ("a,b,c\n1,2,3\n\t\n,,\n4,oops,6\n", 5),  # in a comma table, a tab is blank and ",," a row
    ],
)
def test_lines_of_blanks_are_rows_only_where_the_delimiter_is_one_of_them(tmp_path, text, line):
    """pandas skips a line of blanks unless it holds the delimiter: the line numbers follow it."""
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"t\.csv, line {line}, column 2 \('b'\): 'oops' is not a number"):
        read_table(path, missing="drop")


@pytest.mark.parametrize(
    "text",
    ["1,5;2\n3,5;4\n", "x;y\n1,5;2\n3,5;4\n", "1,5 2\n3,5 4\n", "1,5\t2\n3,5\t4\n"],
)
def test_the_delimiter_detected_is_never_the_decimal_mark(tmp_path, text):
    """Every line has one comma: with --decimal , it is the decimal mark, not the delimiter."""
    path = tmp_path / "t.txt"
    path.write_text(text)
    np.testing.assert_array_equal(read_table(path, decimal=",").samples, [[1.5, 2], [3.5, 4]])


NON_ASCII_DELIMITERS = ["é", "€", "；", "\u00a0", "😀"]  # 2, 3, 3 (fullwidth ;), 2 (no-break space), 4 bytes


@pytest.mark.parametrize("delimiter", NON_ASCII_DELIMITERS)
def test_a_delimiter_that_is_not_ascii_is_refused_with_one_clear_error(tmp_path, delimiter):
    """pandas' C parser splits a line on one byte, and refused any other delimiter with its own
    ValueError ("the separator encoded in utf-8 is > 1 char long"): the reader says why, before
    the file is read. The decimal mark may be any character (pandas takes it as one)."""
    path = tmp_path / "t.csv"
    path.write_text(f"x{delimiter}y\n1{delimiter}2\n3{delimiter}4\n", encoding="utf-8")
    with pytest.raises(ValueError) as caught:
        read_table(path, delimiter=delimiter)
    assert (
        str(caught.value)
        == f"the delimiter must be an ASCII character (a table is split on one byte), got {delimiter!r}"
    )
    assert not isinstance(caught.value, DataError)
    if delimiter.isspace():
        return  # a blank is never a decimal mark
    path.write_text(f"x;y\n1{delimiter}5;2\n3;4{delimiter}25\n", encoding="utf-8")
    np.testing.assert_array_equal(read_table(path, delimiter=";", decimal=delimiter).samples, [[1.5, 2], [3, 4.25]])


@pytest.mark.parametrize("delimiter", NON_ASCII_DELIMITERS[:2])
def test_the_command_refuses_a_delimiter_that_is_not_ascii_in_one_line(cli, tmp_path, delimiter):
    (tmp_path / "t.csv").write_text(f"x{delimiter}y\n1{delimiter}2\n3{delimiter}4\n", encoding="utf-8")
    (tmp_path / "o.json").write_text('{"old": true}\n')
    finished = cli("--data", "t.csv", "--delimiter", delimiter, "--n-clusters", "2", "--output", "o.json")
    assert finished.returncode == 2
    assert error_lines(finished.stderr) == [
        f"tfkmeans: error: --delimiter {delimiter!r}: the delimiter must be an ASCII character (a table is split on "
        f"one byte), got {delimiter!r}"
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["o.json", "t.csv"]
    assert (tmp_path / "o.json").read_text() == '{"old": true}\n'
