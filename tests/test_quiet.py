"""TensorFlow's log lines never reach the user, and the compile cache is kept apart for each CPU.

A learner running a lesson script, and a program using the package whichever of TensorFlow and
tfkmeans it imports first, see no line of TensorFlow's C++ log on stderr. The fresh processes
here run as a user's would: no ``TF_CPP_MIN_LOG_LEVEL``, no ``TF_XLA_FLAGS``, no display."""

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO, headless_environment
from tfkmeans import _compile_cache

# What a line of TensorFlow's log (absl's format "E0000 00:00:..." and the lines around it) holds.
LOG_LINE = re.compile(
    r"^[IWEF]\d{4} |tensorflow/|oneDNN|cuInit|cudart|absl|XlaSerializedCacheEntry|text_format|"
    r"WARNING: All log messages|rebuild TensorFlow|prefer-no-|is not supported on the host machine"
)
SCRIPTS = ["generate_samples.py", "choose_centroids.py", "kmeans_step.py", "kmeans_iterate.py"]
MARK = "--- tfkmeans from here ---"


def tensorflow_lines(stderr):
    return [line for line in stderr.splitlines() if LOG_LINE.search(line)]


def users_environment(**settings):
    """A user's environment: headless, and none of the settings the tests run under."""
    environment = headless_environment()
    for name in ("TF_CPP_MIN_LOG_LEVEL", "TF_XLA_FLAGS", _compile_cache.COMPILE_CACHE):
        environment.pop(name, None)
    environment.update(settings)
    return environment


def run(arguments, cwd, environment):
    return subprocess.run(
        [sys.executable, *map(str, arguments)], cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "stderr, expected",
    [
        ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR", 1),
        ("I0000 00:00:1796352985.792087    6740 cudart_stub.cc:31] Could not find cuda drivers", 1),
        ("E0000 00:00:1796353067.05 7419 text_format.cc:378] Error parsing text-format tensorflow.Xla", 1),
        ("To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with", 1),
        ("tfkmeans: error: --n-clusters: expected an integer\nIteration 3: inertia 1.5", 0),
    ],
)
def test_the_log_line_pattern_knows_tensorflows_lines_from_ours(stderr, expected):
    assert len(tensorflow_lines(stderr)) == expected


# --- the lesson ------------------------------------------------------------------------------


@pytest.mark.slow  # a fresh interpreter loading TensorFlow, for each script
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_lesson_script_prints_nothing_of_tensorflows(tmp_path, script):
    finished = run([REPO / script], tmp_path, users_environment())
    assert finished.returncode == 0, finished.stderr
    assert tensorflow_lines(finished.stderr) == []
    assert finished.stderr == ""  # the lesson's output only: none of it goes to stderr
    assert (tmp_path / script.replace(".py", ".png")).is_file()


def test_a_failed_tensorflow_load_still_shows_what_it_printed(tmp_path):
    """While TensorFlow loads its stderr is set aside, not thrown away: if the load fails, the
    lines its libraries printed come out with the error."""
    fake = tmp_path / "fake" / "tensorflow"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "import os\nos.write(2, b'F0000 the library broke\\n')\nraise ImportError('no')\n"
    )
    finished = run([REPO / "kmeans_step.py"], tmp_path, users_environment(PYTHONPATH=str(fake.parent)))
    assert finished.returncode == 1
    assert finished.stderr.startswith("F0000 the library broke\n")
    assert finished.stderr.rstrip().endswith("ImportError: no")


# --- the package ------------------------------------------------------------------------------

FIT = """
import json, os, sys
{first}
print({mark!r}, file=sys.stderr, flush=True)
import numpy as np
from tfkmeans import KMeans
import tensorflow as tf

# Whether reading an entry logs depends on its bytes: these shapes' entries do, read first (TensorFlow 2.21).
Y = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
small = KMeans(4, random_state=0).fit(Y)
rng = np.random.default_rng(0)
X = (rng.normal(size=(3000, 4)) + rng.integers(0, 3, size=(3000, 1)) * 6).astype(np.float32)
model = KMeans(3, random_state=0, n_init=2).fit(X)
streamed = KMeans(3, random_state=0, n_init=1).fit(tf.data.Dataset.from_tensor_slices(X).batch(512))
print(json.dumps({{"centres": sorted(model.cluster_centers_.round(4).tolist()),
                   "streamed": sorted(streamed.cluster_centers_.round(4).tolist()),
                   "labels": model.predict(X[:50]).tolist(), "small": small.predict(Y[:7]).tolist(),
                   "flags": os.environ.get("TF_XLA_FLAGS", "")}}))
"""
# What a program does before it imports tfkmeans: nothing, import TensorFlow, or use it as
# docs/scale.md's example does.
BEFORE = {"nothing": "", "imported": "import tensorflow as tf", "used": "import tensorflow as tf\ntf.constant(0.0) + 1"}
# The first computation of a process starts TensorFlow's devices, and says so under the level
# the program loaded TensorFlow with, whoever computes first: tfkmeans starts nothing on import,
# so that a program can still set its devices up (tf.config) after importing it.
DEVICES_START = re.compile(r"cuda_platform\.cc.*failed call to cuInit")


def fit(cwd, environment, before):
    """A fresh process that fits, after doing ``BEFORE[before]``. Returns (what it printed, read
    as JSON; the stderr lines printed from where tfkmeans came in, everything when nothing came
    before it)."""
    code = FIT.format(first=BEFORE[before], mark=MARK)
    finished = run(["-c", code], cwd, environment)
    assert finished.returncode == 0, finished.stderr[-3000:]
    printed_before, _, after = finished.stderr.partition(MARK + "\n")
    assert before != "nothing" or printed_before == ""
    return json.loads(finished.stdout), after.splitlines()


def entries(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith(_compile_cache.ENTRY_PREFIX))


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory):
    """A user's default compile cache, warmed by one fit: (the cache home, the entries, the fit)."""
    home = tmp_path_factory.mktemp("home")  # not the processes' folder: its tfkmeans/ would shadow the package
    printed, lines = fit(home.parent, users_environment(XDG_CACHE_HOME=str(home)), "nothing")
    assert lines == []
    if not _compile_cache.quiet():
        pytest.skip("before TensorFlow 2.21 the cache is off by default")  # pragma: no cover
    folder = home / "tfkmeans" / "xla" / f"tensorflow-{_compile_cache.tensorflow_version()}"
    written = entries(folder)
    assert written and all(name.startswith(_compile_cache.entry_prefix() + "__") for name in written)
    return home, folder, written, printed


@pytest.mark.slow  # fresh processes that load TensorFlow
@pytest.mark.parametrize(
    "before, level, reads_the_cache",
    [
        ("nothing", None, True),  # tfkmeans loads TensorFlow, at level 3: the cache is read, silently
        # TensorFlow first, its errors shown: the cache would print them (16 E lines of the issue's),
        # so it is off.
        ("imported", None, False),
        ("used", None, False),
        ("imported", "2", False),
        ("imported", "3", True),  # TensorFlow first, its errors hidden by the program: the cache is read
    ],
)
def test_a_warm_compile_cache_prints_nothing_whatever_the_import_order(warm_cache, before, level, reads_the_cache):
    home, folder, written, cold = warm_cache
    settings = {"XDG_CACHE_HOME": str(home)} | ({} if level is None else {"TF_CPP_MIN_LOG_LEVEL": level})
    printed, lines = fit(home.parent, users_environment(**settings), before)
    if before == "imported":
        lines = [line for line in lines if not DEVICES_START.search(line)]
    assert lines == []  # nothing else at all on stderr once tfkmeans is imported
    assert (f"--tf_xla_persistent_cache_directory={folder}" in printed["flags"]) is reads_the_cache
    assert entries(folder) == written  # every shape was read from the cache, none written again
    assert {key: printed[key] for key in ("centres", "streamed", "labels", "small")} == {
        key: cold[key] for key in ("centres", "streamed", "labels", "small")
    }


# What the report named: absl's line about its log before InitializeLog, and cudart's.
ABSL_CUDART = re.compile(r"absl::InitializeLog|cudart_stub")


@pytest.mark.slow  # fresh processes that load TensorFlow
@pytest.mark.parametrize("level", [None, "3"])
def test_with_tensorflow_imported_first_its_own_import_prints_the_absl_and_cudart_lines(tmp_path, level):
    """The report: ``import tensorflow as tf``, then tfkmeans and a fit, and absl's and cudart's
    lines on stderr. TensorFlow's own import prints them (docs/python.md shows them), before any
    of tfkmeans runs, and at TF_CPP_MIN_LOG_LEVEL 3 too (absl is not set up yet to read it);
    from tfkmeans on, only the devices' start at the first computation logs, below level 3."""
    settings = {"XDG_CACHE_HOME": str(tmp_path / "cache")} | ({} if level is None else {"TF_CPP_MIN_LOG_LEVEL": level})
    finished = run(["-c", FIT.format(first=BEFORE["imported"], mark=MARK)], tmp_path, users_environment(**settings))
    assert finished.returncode == 0, finished.stderr[-3000:]
    before, _, after = finished.stderr.partition(MARK + "\n")
    assert not any(ABSL_CUDART.search(line) for line in after.splitlines())
    assert [line for line in after.splitlines() if not DEVICES_START.search(line)] == []
    if level == "3":
        assert after == ""
    assert all(tensorflow_lines(line) for line in before.splitlines())  # TensorFlow's, all of them


# --- the cache, by CPU ------------------------------------------------------------------------

ZEN = "fpu vme de pse tsc msr pae sse sse2 avx avx2 fma bmi1 bmi2"


def cpuinfo(flags, name="flags", model="AMD EPYC", mhz="2445.406"):
    """A /proc/cpuinfo of two processors, as Linux writes it."""
    block = f"processor\t: {{}}\nmodel name\t: {model}\ncpu MHz\t\t: {mhz}\n{name}\t\t: {flags}\nbugs\t\t: sysret_ss_attrs\n"
    return block.format(0) + "\n" + block.format(1)


@pytest.fixture
def cpu(tmp_path, monkeypatch):
    """Set the CPU that ``_compile_cache`` reads (as /proc/cpuinfo) for a call, then
    ``use_compile_cache()`` as a fresh process would: returns the TF_XLA_FLAGS it sets."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.delenv(_compile_cache.COMPILE_CACHE, raising=False)

    def flags_for(text, environment=()):
        path = tmp_path / "cpuinfo"
        path.write_text(text)
        monkeypatch.setattr(_compile_cache, "CPUINFO", str(path))
        monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
        for name, value in dict(environment).items():
            monkeypatch.setenv(name, value)
        _compile_cache.use_compile_cache()
        return os.environ["TF_XLA_FLAGS"]

    return flags_for


def where(flags):
    """(directory, prefix of the entries' names) that TF_XLA_FLAGS gives XLA."""
    settings = dict(re.findall(r"--tf_xla_persistent_cache_(directory|prefix)=(\S+)", flags))
    return settings["directory"], settings["prefix"]


@pytest.mark.parametrize(
    "other",
    [
        ZEN + " avx512f avx512bw",  # a CPU with more: its code would SIGILL here
        ZEN.replace(" avx2", ""),  # a CPU with less
    ],
)
def test_a_cpu_with_other_flags_gets_entries_of_its_own(cpu, other):
    if not _compile_cache.quiet():
        pytest.skip("before TensorFlow 2.21 the cache is off by default")  # pragma: no cover
    directory, ours = where(cpu(cpuinfo(ZEN)))
    other_directory, theirs = where(cpu(cpuinfo(other)))
    assert other_directory == directory  # one folder for the TensorFlow version,
    assert theirs != ours  # whose entries one CPU never reads of the other's
    assert ours.startswith(_compile_cache.ENTRY_PREFIX) and theirs.startswith(_compile_cache.ENTRY_PREFIX)


@pytest.mark.parametrize(
    "same",
    [
        cpuinfo(ZEN),
        cpuinfo(" ".join(reversed(ZEN.split()))),  # the same flags, in another order
        cpuinfo(ZEN, mhz="3700.000"),  # the clock, which changes from one read to the next
        cpuinfo(ZEN, model="AMD EPYC 7B13"),  # another model of the same instruction set
    ],
)
def test_a_cpu_with_the_same_flags_shares_the_entries(cpu, same):
    if not _compile_cache.quiet():
        pytest.skip("before TensorFlow 2.21 the cache is off by default")  # pragma: no cover
    assert where(cpu(same)) == where(cpu(cpuinfo(ZEN)))


def test_arm_features_and_a_named_directory_are_kept_apart_too(cpu, tmp_path):
    """ARM's /proc/cpuinfo says "Features"; and a directory the user names (a cluster's shared
    one, say) is split by CPU as the default one is."""
    named = {_compile_cache.COMPILE_CACHE: str(tmp_path / "shared")}
    directory, neon = where(cpu(cpuinfo("fp asimd evtstrm aes pmull sha1 sha2 crc32", name="Features"), named))
    _, sve = where(cpu(cpuinfo("fp asimd evtstrm aes pmull sha1 sha2 crc32 sve", name="Features"), named))
    assert directory == str(tmp_path / "shared") and neon != sve


def test_without_cpuinfo_the_processor_names_the_entries(cpu, monkeypatch):
    """No /proc/cpuinfo (not Linux), or one without flags: what the system says of its processor."""
    monkeypatch.setattr(_compile_cache.platform, "processor", lambda: "i386")
    intel = where(cpu("processor\t: 0\n"))
    monkeypatch.setattr(_compile_cache.platform, "processor", lambda: "arm")
    assert where(cpu("processor\t: 0\n")) != intel


def test_a_prefix_of_the_users_own_is_left_as_it_is(cpu):
    flags = cpu(cpuinfo(ZEN), {"TF_XLA_FLAGS": "--tf_xla_persistent_cache_prefix=mine"})
    assert flags.count("tf_xla_persistent_cache_prefix") == 1 and where(flags)[1] == "mine"


@pytest.mark.parametrize(
    "level, setting, on",
    [
        ("3", None, True),  # tfkmeans loaded TensorFlow (it sets 3), or the user hid errors
        ("4", None, True),
        (None, None, False),  # TensorFlow loaded first, errors shown: its lines would reach the user
        ("0", None, False),
        ("2", None, False),
        ("x", None, False),  # a level that cannot be read
        (None, "DIRECTORY", True),  # a directory named: on, whatever the level
        ("3", "off", False),
    ],
)
def test_the_default_cache_is_on_only_where_reading_it_prints_nothing(monkeypatch, tmp_path, level, setting, on):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    if level is None:
        monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    else:
        monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", level)
    if setting is None:
        monkeypatch.delenv(_compile_cache.COMPILE_CACHE, raising=False)
    else:
        monkeypatch.setenv(_compile_cache.COMPILE_CACHE, setting.replace("DIRECTORY", str(tmp_path / "named")))
    on = on and (setting is not None or _compile_cache.quiet())
    assert (_compile_cache.compile_cache_directory() is not None) is on
