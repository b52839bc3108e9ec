"""Where XLA's compiled programs are kept across processes, set up before TensorFlow loads.

XLA keeps its compiled programs on disk (``TF_XLA_FLAGS=--tf_xla_persistent_cache_directory``),
so that a new process pays no compilation for a shape compiled before: in
``$TFKMEANS_COMPILE_CACHE``, or by default in the user's cache directory, one folder for each
TensorFlow version (``$XDG_CACHE_HOME/tfkmeans/xla/tensorflow-<version>``, usually under
``~/.cache``; an entry per compiled shape, from kilobytes to tens of megabytes, never deleted
by the package). ``TFKMEANS_COMPILE_CACHE=off`` turns it off; a
``--tf_xla_persistent_cache_directory`` of your own in ``TF_XLA_FLAGS`` is left as it is. The setting reaches XLA as long as nothing was compiled with XLA before tfkmeans is
imported.

A compiled program holds machine code for the CPU that compiled it, and XLA loads an entry
whatever CPU wrote it (it only logs "could lead to execution errors such as SIGILL"). A home
directory shared by machines with different CPUs, as on a cluster, must not hand one machine's
code to another: each entry's name begins with a key of the CPU's instruction-set flags
(``--tf_xla_persistent_cache_prefix``), so a machine reads only what a machine like it wrote.

Reading an entry logs ERROR lines on stderr: TensorFlow first tries each entry as text
("Error parsing text-format tensorflow.XlaSerializedCacheEntry"), and XLA's loader lists any
target feature that the host's CPU does not report, LLVM's tuning pseudo-features
(``+prefer-no-scatter``, ``+prefer-no-gather``) included, so it warns on the very machine that
wrote the entry. Neither can be turned off; only TensorFlow's log level hides them. So by
default the cache is on only where its reading prints nothing: TensorFlow 2.21 or later (before
it, protobuf prints its line whatever the level), with TensorFlow's ERROR lines hidden
(``TF_CPP_MIN_LOG_LEVEL`` 3, as tfkmeans sets it when it loads TensorFlow itself). A program that
imports TensorFlow first, with its log lines on, gets no cache by default.
``TFKMEANS_COMPILE_CACHE=<directory>`` turns it on anyway, lines and all.

Nothing here imports TensorFlow: the tests set their own cache with it first.
"""

import hashlib
import os
import platform
import sys

COMPILE_CACHE = "TFKMEANS_COMPILE_CACHE"
# The first TensorFlow version known to read its cache without printing anything at log level 3.
QUIET_FROM = (2, 21)
# XLA's own name for its entries, which tfkmeans' entries begin with too.
ENTRY_PREFIX = "xla_compile_cache"
CPUINFO = "/proc/cpuinfo"


def tensorflow_version():
    """The installed TensorFlow's version string, read without importing it, or "unknown"."""
    from importlib import metadata

    for distribution in ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos", "tf-nightly"):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def quiet(version=None):
    """Whether this TensorFlow's XLA prints nothing unasked (2.21 or later): then the cache is
    on by default."""
    parts = (version or tensorflow_version()).split(".")[:2]
    try:
        return tuple(int(part) for part in parts) >= QUIET_FROM
    except ValueError:  # "unknown", or a version we cannot read: the quiet choice
        return False


def errors_hidden():
    """Whether TensorFlow's C++ log hides ERROR lines: ``TF_CPP_MIN_LOG_LEVEL`` 3 or more (it
    counts as it was when TensorFlow loaded, which is now unless the program changed it since)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0")) >= 3
    except ValueError:  # a level we cannot read: the lines may show
        return False


def cpu_features():
    """What compiled machine code depends on: the architecture and the CPU's instruction-set
    flags, as the kernel reports them (``/proc/cpuinfo``'s "flags", or "Features" on ARM), or
    where there is no such file, what the system says of its processor."""
    machine = platform.machine()
    try:
        with open(CPUINFO, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name.strip().lower() in ("flags", "features"):
                    return f"{machine}: {' '.join(sorted(set(value.split())))}"
    except OSError:
        pass
    if sys.platform == "darwin":
        import subprocess

        try:
            described = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            described = ""
        if described.strip():
            return f"{machine}: {' '.join(sorted(set(described.split())))}"
    return f"{machine}: {platform.processor()}"


def cpu_key():
    """A short name for ``cpu_features()``: machines whose CPUs report the same flags share it."""
    return "cpu-" + hashlib.sha256(cpu_features().encode("utf-8")).hexdigest()[:16]


def compile_cache_directory():
    """Where compiled XLA programs are kept across processes, or None when that is turned off."""
    setting = os.environ.get(COMPILE_CACHE, "")
    if setting.lower() in ("0", "off", "false", "no", "none"):
        return None
    if setting:
        return setting
    version = tensorflow_version()
    if not (quiet(version) and errors_hidden()):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tfkmeans", "xla", f"tensorflow-{version}")


def entry_prefix():
    """The start of this machine's entries' names: XLA's own, then the CPU's key."""
    return f"{ENTRY_PREFIX}_{cpu_key()}"


def use_compile_cache():
    """Point XLA at ``compile_cache_directory()`` (made if need be), its entries named for this
    CPU, unless it is off, or the user's ``TF_XLA_FLAGS`` names a directory already, or it
    cannot be written."""
    directory = compile_cache_directory()
    flags = os.environ.get("TF_XLA_FLAGS", "")
    if directory is None or "tf_xla_persistent_cache_directory" in flags:
        return
    try:
        os.makedirs(directory, exist_ok=True)
        if not os.access(directory, os.W_OK):
            return
    except OSError:  # a read-only home, say: no cache rather than an error
        return
    flags = f"{flags} --tf_xla_persistent_cache_directory={directory}"
    if "tf_xla_persistent_cache_prefix" not in flags:
        flags += f" --tf_xla_persistent_cache_prefix={entry_prefix()}"
    os.environ["TF_XLA_FLAGS"] = flags.strip()
