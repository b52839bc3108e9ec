"""Text from the user and back: numbers read strictly from text, and what messages show of
what a user gave (a cell, a column name, a flag's value, a path), bounded in length and
printable on any terminal.

Python's ``int`` and ``float`` take "١٢" and "1_000", and ``str.isdigit`` takes "²": numbers
typed by a user are read as ASCII decimals only, as pandas reads a table's. A message that
quotes a 5 MB cell is no help, and a file name that is not UTF-8 must not stop the command
when it prints it: every error and printed line that shows user data goes through here.
"""

import os
import re

# A number as pandas' parser reads one (ASCII digits; infinity and NaN by name), and a count.
NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)", re.IGNORECASE)
INTEGER = re.compile(r"[+-]?[0-9]+")

# The most characters of a value that a message quotes; the rest is left out with an ellipsis.
QUOTE_LIMIT = 60
# Paths are longer by nature (a deep directory): the start and the end (the file's name) are kept.
PATH_LIMIT = 240


def quoted(value, limit=QUOTE_LIMIT):
    """``repr`` of ``value`` as text, cut at ``limit`` characters with an ellipsis and its length."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def shown_path(path):
    """``path`` as text that prints anywhere: bytes of the name that are not UTF-8 as ``\\xff``
    escapes, and a very long path with its middle left out."""
    text = printable(os.fspath(path) if not isinstance(path, bytes) else os.fsdecode(path))
    if len(text) > PATH_LIMIT:
        head = PATH_LIMIT // 3
        text = f"{text[:head]}...{text[-(PATH_LIMIT - head) :]}"
    return text


def printable(text, encoding="utf-8"):
    """``text`` as ``encoding`` can write it: the bytes of a file name that were not UTF-8
    (which Python holds as lone surrogates) as ``\\xff``, any other character the encoding lacks
    backslash-escaped."""
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no file name gave: escape it as it is
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:
        return text.encode("ascii", "backslashreplace").decode("ascii")
