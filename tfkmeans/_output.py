"""Writing results: every file is written whole or not at all (JSON, NumPy, figures,
animations, SavedModels), and a run's files appear together or not at all.

A file is first written to a hidden temporary file beside its destination, named after this
process (``.tfkmeans-<pid>-<random>.tmp<ext>``), and then renamed into place. ``Outputs`` puts
several files in place as one transaction: a file it replaces is kept (as a hard link) until
every file is in place and the run has said so, and anything that fails on the way puts every
old file back.

A run killed outright (SIGKILL) cannot remove its temporary files. Each temporary file is
recorded, by name and by inode, in a journal beside it (``.tfkmeans-<pid>-<random>.journal``),
and the next run that writes into that directory removes what a journal of a process that is
gone lists, and only that: a file is never removed for its name alone.
"""

import contextlib
import errno
import json
import os
import re
import signal
import socket
import stat
import tempfile
import threading

TEMPORARY_PREFIX = ".tfkmeans-"
_JOURNAL = re.compile(r"\.tfkmeans-(\d+)-[A-Za-z0-9_]+\.journal")
_JOURNAL_KIND = "tfkmeans temporary files"
_NOTHING_CHANGED = "; no output file was written or changed"
# A journal lists a few files; anything longer is not one of ours.
_JOURNAL_MOST_BYTES = 1 << 20


class OutputStreamError(OSError):
    """Standard output could not be written (a full disk, a closed terminal): the run's files
    are not put in place, since it could not say that they were."""


def _temporary_prefix():
    return f"{TEMPORARY_PREFIX}{os.getpid()}-"


class _Journal:
    """What this process created in one directory, by name and inode, so that the next run
    can tell, should this one be killed, what is this run's to remove and what is not."""

    def __init__(self, directory):
        handle, self.path = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix(), suffix=".journal")
        self._file = os.fdopen(handle, "w", encoding="utf-8")
        try:
            self._write({"kind": _JOURNAL_KIND, "pid": os.getpid(), "host": socket.gethostname()})
        except BaseException:
            # A journal without its first line (a full disk) proves nothing, so no later run
            # would ever remove it: this one does, now.
            self.close()
            raise

    def record(self, path):
        info = os.lstat(path)
        self._write(
            {
                "name": os.path.basename(path),
                "device": info.st_dev,
                "inode": info.st_ino,
                "directory": stat.S_ISDIR(info.st_mode),
            }
        )

    def _write(self, entry):
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()

    def close(self, remove=True):
        """Close the journal, and remove it unless ``remove`` is false (a temporary it lists
        could not be removed: the journal stays, so that the next run removes both)."""
        with contextlib.suppress(OSError):  # it was flushed line by line: nothing is lost
            self._file.close()
        if remove:
            with contextlib.suppress(OSError):
                os.remove(self.path)


def remove_stale_temporaries(directory):
    """Remove the temporary files that runs killed outright left in ``directory``: those that
    the journal of a process that no longer exists lists, with the same inode. Returns how many
    were removed."""
    if os.name != "posix":  # os.kill(pid, 0) is no probe elsewhere (on Windows it signals)
        return 0
    try:
        names = os.listdir(directory)
    except OSError:
        return 0
    removed = 0
    for name in names:
        match = _JOURNAL.fullmatch(name)
        if match and not _process_exists(int(match.group(1))):
            removed += _clean_up_after(directory, name, int(match.group(1)))
    return removed


def _clean_up_after(directory, journal_name, pid):
    """Remove what the journal ``journal_name`` of the dead process ``pid`` lists, then the
    journal; a journal that is not wholly one of ours leaves everything where it is."""
    import shutil

    journal = os.path.join(directory, journal_name)
    try:
        handle = os.open(journal, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(handle, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > _JOURNAL_MOST_BYTES:
                return 0
            entries = [json.loads(line) for line in file.read().decode("utf-8").splitlines()]
    except (OSError, ValueError):
        return 0
    if not entries or entries[0] != {"kind": _JOURNAL_KIND, "pid": pid, "host": socket.gethostname()}:
        return 0
    ours = re.compile(rf"\.tfkmeans-{pid}-[A-Za-z0-9_]+\.tmp[^/\\]*")
    listed = entries[1:]
    if not all(
        isinstance(entry, dict)
        and set(entry) == {"name", "device", "inode", "directory"}
        and isinstance(entry["name"], str)
        and ours.fullmatch(entry["name"])
        for entry in listed
    ):
        return 0
    removed = 0
    for entry in listed:
        path = os.path.join(directory, entry["name"])
        try:
            info = os.lstat(path)
        except OSError:
            continue  # put in place, or removed, before the process died
        if (info.st_dev, info.st_ino) != (entry["device"], entry["inode"]) or stat.S_ISDIR(info.st_mode) != entry[
            "directory"
        ]:
            continue  # another file has the name now
        with contextlib.suppress(OSError):
            shutil.rmtree(path) if entry["directory"] else os.remove(path)
            removed += 1
    with contextlib.suppress(OSError):
        os.remove(journal)
    return removed


def _process_exists(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # someone else's process, or not a pid at all: leave the file alone
    return True


# What open() says where the file system (or the kernel) makes no unnamed files.
_NO_UNNAMED_FILES = {errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR, errno.EINVAL}


def can_create_in(directory):
    """None if a file can be created in ``directory`` (one is, and goes at once), else why not:
    what the operating system said (a read-only or pseudo file system such as /proc, no
    permission, no space).

    The probe leaves nothing that a later run would not remove, even when the process is killed
    outright (SIGKILL) as it probes. Where the file system makes unnamed files (Linux's
    O_TMPFILE: ext4, xfs, btrfs, tmpfs, ...), the probe is one: it never has a name, and goes
    with its descriptor, however the process ends. Elsewhere the probe is a journal, as a run
    writes beside its files, which a later run removes once this process is gone; only a kill
    in the instant between the journal's name and its first line leaves it empty, and so
    unproven and kept, as for any run's journal there."""
    unnamed = getattr(os, "O_TMPFILE", None)
    if unnamed is not None:
        try:
            os.close(os.open(directory, unnamed | os.O_WRONLY, 0o600))
        except OSError as error:
            if error.errno not in _NO_UNNAMED_FILES:
                return error.strerror or type(error).__name__
        else:
            return None
    try:
        _Journal(directory).close()
    except OSError as error:
        return error.strerror or type(error).__name__
    return None


@contextlib.contextmanager
def _signals_held():
    """Hold Ctrl-C, SIGTERM and SIGHUP while files are renamed into place or put back, so that
    a signal lands before or after, never between two renames. A blocked signal mask would not
    do: the signal reaches one of TensorFlow's threads, and Python runs its handler in the main
    thread at the next bytecode, wherever that is. So for the while the handlers only note the
    signal, and the first one noted is handled as it would have been, after. Only the main
    thread can set handlers (and only it receives Python's signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted = []
    numbers = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
    previous = {
        number: signal.signal(number, lambda number, frame: noted.append((number, frame))) for number in numbers
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if noted:
            number, frame = noted[0]
            handler = previous[number]
            if callable(handler):
                handler(number, frame)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(number)


@contextlib.contextmanager
def atomic_write(path, replace=True):
    """Yield a temporary path beside ``path``; on success it takes ``path``'s place.

    On an error the temporary file is removed and ``path`` is left as it was, so an interrupted
    run never leaves half a file, nor destroys the file it was about to replace. With
    ``replace=False`` an existing ``path`` is never replaced: ``FileExistsError`` is raised
    instead (a hard link, which the file system makes atomically or not at all).
    """
    with Outputs() as outputs:
        temporary = outputs.stage(path, replace)
        yield temporary
        outputs.commit()


class Outputs:
    """Several output files of one run, written to temporary files as the run goes and put in
    place together at its end (``commit``), all or none, so that a run that fails or is
    interrupted leaves every file as it was. A ``with`` block removes what was not committed."""

    def __init__(self):
        self._staged = []  # [temporary, destination or a new name's (stem, extension), replace]
        self._journals = {}  # directory: _Journal
        self._placed = {}  # temporary: the path it was put in place at
        self.committed = False

    def _temporary_in(self, directory, extension, make=tempfile.mkstemp):
        if directory not in self._journals:
            remove_stale_temporaries(directory)
            self._journals[directory] = _Journal(directory)
        made = make(dir=directory, prefix=_temporary_prefix(), suffix=".tmp" + extension)
        if isinstance(made, tuple):  # mkstemp: a file, private (0600) ...
            os.close(made[0])
            made = made[1]
            umask = os.umask(0)  # ... given the permissions a new file gets
            os.umask(umask)
            os.chmod(made, 0o666 & ~umask)
        self._journals[directory].record(made)
        return made

    def stage(self, path, replace=True):
        """A temporary path to write ``path``'s content to; it takes ``path``'s place at
        ``commit``."""
        path = os.fspath(path)
        with _naming(path):
            temporary = self._temporary_in(os.path.dirname(os.path.abspath(path)), os.path.splitext(path)[1])
        self._staged.append([temporary, path, replace])
        return temporary

    def stage_new(self, stem, extension=".png", directory="."):
        """A temporary path whose content takes, at ``commit``, the first of ``stem.png``,
        ``stem-2.png``, ... in ``directory`` that no file has (``placed`` says which)."""
        with _naming(os.path.join(directory, stem) + extension):
            temporary = self._temporary_in(os.path.abspath(directory), extension)
        self._staged.append([temporary, (os.path.join(directory, stem), extension), False])
        return temporary

    def stage_directory(self, path):
        """A new temporary directory beside ``path``, which takes the name ``path`` (which must
        not exist) at ``commit``."""
        path = os.fspath(path)
        with _naming(path):
            temporary = self._temporary_in(os.path.dirname(os.path.abspath(path)), "", make=tempfile.mkdtemp)
        self._staged.append([temporary, path, False])
        return temporary

    def destination_of(self, path):
        """The path the user gave whose staged temporary is, or holds, ``path`` (None if no
        staged temporary does)."""
        if not isinstance(path, (str, bytes, os.PathLike)):
            return None
        path = os.path.abspath(os.fsdecode(path))
        for temporary, destination, _ in self._staged:
            if path == temporary or path.startswith(temporary + os.sep):
                return destination if isinstance(destination, str) else "".join(destination)
        return None

    def placed(self, temporary):
        """Where the committed ``temporary`` was put."""
        return self._placed[temporary]

    def commit(self, announce=None):
        """Put every staged file in place, then call ``announce()`` (which says so); if either
        fails, or a signal comes, every file is put back as it was and the error is raised."""
        done = []  # (destination, the old file kept aside or None, the new file's _identity)
        try:
            with _signals_held():
                for temporary, destination, replace in self._staged:
                    done.append(self._put(temporary, destination, replace))
            if announce is not None:
                announce()
        except BaseException:
            with _signals_held():
                self._undo(done)
            raise
        self.committed = True  # a signal from here on comes after the files were written
        with _signals_held():
            for _, kept, _ in done:
                if kept is not None:
                    with contextlib.suppress(OSError):
                        os.remove(kept)
            self._staged = []
            self._close_journals()

    def _put(self, temporary, destination, replace):
        if isinstance(destination, tuple):
            return self._put_new(temporary, *destination)
        kept = _keep_aside(destination) if replace and os.path.lexists(destination) else None
        try:
            if replace:
                os.replace(temporary, destination)
            elif os.path.isdir(temporary):
                _rename_directory(temporary, destination)
            else:
                os.link(temporary, destination)  # FileExistsError if it exists: never a replacement
                os.remove(temporary)
        except BaseException as error:
            if kept is not None:
                if os.path.lexists(temporary):  # nothing was put in place: the old file is there
                    os.remove(kept)
                else:  # put in place, then stopped: the old file goes back
                    os.replace(kept, destination)
            if not isinstance(error, OSError) or isinstance(error, FileExistsError):
                raise
            raise OSError(
                error.errno, f"{error.strerror}; no output file was written or changed", destination
            ) from None
        self._placed[temporary] = destination
        return destination, kept, _identity(destination)

    def _put_new(self, temporary, stem, extension):
        number = 1
        while True:
            candidate = f"{stem}{extension}" if number == 1 else f"{stem}-{number}{extension}"
            if not os.path.lexists(candidate):
                try:
                    return self._put(temporary, candidate, False)
                except FileExistsError:
                    pass  # taken since we looked: the next number
            number += 1

    def _undo(self, done):
        for destination, kept, identity in reversed(done):
            with contextlib.suppress(OSError):
                if kept is not None:
                    os.replace(kept, destination)
                elif _identity(destination) == identity:  # still the file this run made
                    import shutil

                    shutil.rmtree(destination) if os.path.isdir(destination) else os.remove(destination)
        done.clear()

    def discard(self):
        """Remove every staged temporary file that was not committed. One that cannot be
        removed (its directory made read-only meanwhile, say) keeps its journal, so that the
        next run that writes there removes it: an error here would hide the one that stopped
        the run, and name a temporary file."""
        import shutil

        left = set()
        for temporary, _, _ in self._staged:
            try:
                shutil.rmtree(temporary) if os.path.isdir(temporary) else os.remove(temporary)
            except FileNotFoundError:
                pass
            except OSError:
                left.add(os.path.dirname(temporary))
        self._staged = []
        self._close_journals(keep=left)

    def _close_journals(self, keep=()):
        for directory, journal in self._journals.items():
            journal.close(remove=directory not in keep)
        self._journals = {}

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        # Writing a staged temporary file failed (a full disk, its directory removed): the error
        # names the temporary, which the user never gave and which is gone by now; say the path
        # the user gave instead.
        destination = None
        if isinstance(error, OSError) and not isinstance(error, OutputStreamError):
            destination = self.destination_of(error.filename) or self.destination_of(error.filename2)
        self.discard()
        if destination is not None:
            raise _named(destination, error) from None


def _named(path, error):
    """``error``, an ``OSError`` about a temporary file or a journal beside ``path``, as one
    about ``path``, the path the user gave."""
    reason = error.strerror or type(error).__name__
    if not reason.endswith(_NOTHING_CHANGED):
        reason += _NOTHING_CHANGED
    return OSError(error.errno, reason, path)


@contextlib.contextmanager
def _naming(path):
    """An ``OSError`` in the block (making a temporary file or a journal beside ``path``) names
    ``path``, never the temporary file or journal."""
    try:
        yield
    except OSError as error:
        raise _named(path, error) from None


def _identity(path):
    """What tells the file at ``path`` from one put there later under the same name (an inode
    number is soon given again)."""
    info = os.lstat(path)
    return info.st_dev, info.st_ino, info.st_ctime_ns, info.st_size


def _rename_directory(temporary, destination):
    if os.path.lexists(destination):
        raise FileExistsError(errno.EEXIST, "File exists", destination)
    try:
        os.rename(temporary, destination)
    except OSError as error:  # a directory made there since: rename refuses to replace it
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileExistsError(errno.EEXIST, "File exists", destination) from None
        raise


def _keep_aside(path):
    """A second name for the file at ``path`` (a hard link; a copy where the file system has
    none), so that it can be put back if the run's other files cannot all be put in place."""
    import shutil

    directory, name = os.path.split(os.path.abspath(path))
    handle, kept = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix(), suffix=f".kept-{name[:80]}")
    os.close(handle)
    os.remove(kept)
    try:
        os.link(path, kept, follow_symlinks=False)
    except OSError:
        try:
            shutil.copy2(path, kept, follow_symlinks=False)
        except OSError as error:
            raise OSError(
                error.errno,
                f"{error.strerror} (keeping the old file aside); no output file was written or changed",
                path,
            ) from None
    return kept


def json_text(result):
    """``result`` (a dict) as strict JSON text: one key per line, each value on one line.

    NaN and infinity are not JSON; a value holding one raises ``ValueError`` naming its key
    rather than writing a file that strict parsers reject.
    """
    lines = []
    for key, value in result.items():
        try:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, allow_nan=False)}")
        except ValueError:
            raise ValueError(f"the result's {key!r} holds NaN or infinity, which JSON cannot hold") from None
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_text(temporary, text):
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)


def check_figure_format(figure, path):
    """The format ``path``'s extension names, if matplotlib can write it, else ValueError."""
    path = os.fspath(path)
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    supported = figure.canvas.get_supported_filetypes()
    if extension not in supported:
        raise ValueError(
            f"save_path {path!r}: unsupported figure format {extension!r}; use one of {', '.join(sorted(supported))}"
        )
    return extension


def draw_figure(figure, temporary, extension):
    figure.savefig(temporary, format=extension, dpi=100, bbox_inches="tight")


def save_figure(figure, path):
    """Write a matplotlib figure to ``path`` (format from the extension), whole or not at all."""
    extension = check_figure_format(figure, path)
    with atomic_write(path) as temporary:
        draw_figure(figure, temporary, extension)


def save_model(module, signatures, path):
    """Write ``module`` as a TensorFlow SavedModel with ``signatures`` to ``path``, through a
    temporary directory beside it renamed into place: ``path`` appears whole or not at all.
    ``path`` must be new, in a directory that exists and can be written to (ValueError)."""
    from ._tensorflow import tf

    path = os.fspath(path)
    if not path:
        raise ValueError("export path is empty; give the name of a new directory")
    if os.path.lexists(path):
        raise ValueError(f"export path {path!r} already exists; give a new directory (nothing was overwritten)")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"export path {path!r}: the directory {parent} does not exist")
    problem = can_create_in(parent)  # os.access says yes to root, even for /proc
    if problem:
        raise ValueError(f"export path {path!r}: cannot write to the directory {parent} ({problem})")
    with Outputs() as outputs:
        temporary = outputs.stage_directory(path)
        try:
            tf.saved_model.save(module, temporary, signatures=signatures)
        except tf.errors.OpError as error:  # a full disk, say: TensorFlow's words, not its traceback
            reason = _tensorflow_reason(error.message, temporary)
            raise OSError(
                f"export path {path!r}: the SavedModel could not be written ({reason}); nothing was written"
            ) from None
        try:
            outputs.commit()
        except FileExistsError:  # another export took the name since it was checked
            raise ValueError(
                f"export path {path!r} already exists; give a new directory (nothing was overwritten)"
            ) from None


def write_npy_batches(temporary, batches, dtype="<i4"):
    """Write the 1-D arrays ``batches`` yields, one after another, to the new file ``temporary``
    as one .npy array of ``dtype``: a batch at a time, the header written again with the count
    at the end. Returns how many values were written."""
    import numpy as np

    count = 0
    with open(temporary, "wb") as handle:
        header_at = handle.tell()
        np.lib.format.write_array_header_2_0(handle, {"descr": dtype, "fortran_order": False, "shape": (0,)})
        for batch in batches:
            values = np.asarray(batch).astype(dtype)
            handle.write(values.tobytes())
            count += len(values)
        handle.seek(header_at)
        np.lib.format.write_array_header_2_0(handle, {"descr": dtype, "fortran_order": False, "shape": (count,)})
    return count


def _tensorflow_reason(message, temporary):
    """What TensorFlow's ``message`` says went wrong, without the names of temporary files: its
    file errors read ``FILE; REASON``, and FILE is one of its own temporary files inside ours
    (``variables_temp/part-...tempstate123``, ``saved_model.pb.tmp123``), which the user never
    gave; nor its function and op names."""
    message = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", message)
    message = re.sub(r"\s*\[Op:[^\]]*\]\s*$", "", message).strip()
    where, separator, reason = message.rpartition("; ")
    if separator and temporary in where:
        return reason
    return message.replace(temporary + os.sep, "").replace(temporary, "the SavedModel's directory")
