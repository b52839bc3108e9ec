"""The package's layers (docs/development.md#architecture): each module imports only modules of
the layers it may import, at its top and inside its functions, so there are no import circles
and no imports that run back up."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "tfkmeans"

# The layers, from the bottom, as docs/development.md's table gives them.
FOUNDATIONS = {"_text", "_compile_cache", "_tensorflow", "_settings"}
POLICY = {"_precision", "_validation"}
READERS_AND_WRITERS = {"_input", "_output"}
KERNELS = {"_geometry", "_adapter", "_dense", "_sparse", "_loop", "_seeding", "_minibatch"}
DISPATCHER = {"_dispatch"}
HOST = {"_samples", "_stream", "_checkpoint"}
ESTIMATORS = {"_kmeans", "_bisect_k_means", "_spherical_k_means", "_functions", "_serving", "datasets", "plotting"}
COMMAND = ["_report", "_command", "cli"]  # each below the next
TOP = {"__init__", "__main__"}

MAY_IMPORT = {
    **{name: FOUNDATIONS for name in FOUNDATIONS},
    **{name: FOUNDATIONS | {"_precision"} for name in POLICY},
    **{name: FOUNDATIONS for name in READERS_AND_WRITERS},
    # A kernel sees foundations and the geometry; the loop, the seeding and the mini-batch steps
    # see samples only through the protocol, so they import no adapter.
    "_geometry": FOUNDATIONS,
    "_adapter": set(),
    "_dense": FOUNDATIONS | {"_geometry"},
    "_sparse": FOUNDATIONS | {"_geometry"},
    "_loop": FOUNDATIONS | {"_geometry"},
    "_seeding": FOUNDATIONS | {"_geometry"},
    "_minibatch": FOUNDATIONS | {"_geometry"},
    "_dispatch": FOUNDATIONS | KERNELS,
}
BELOW_HOST = FOUNDATIONS | POLICY | READERS_AND_WRITERS | KERNELS | DISPATCHER
MAY_IMPORT.update({name: BELOW_HOST for name in HOST})
MAY_IMPORT.update({name: BELOW_HOST | HOST | ESTIMATORS for name in ESTIMATORS})
for position, name in enumerate(COMMAND):
    MAY_IMPORT[name] = BELOW_HOST | HOST | ESTIMATORS | set(COMMAND[:position])
MAY_IMPORT.update({name: set(MAY_IMPORT) for name in TOP})


def package_imports(path):
    """The package's modules that ``path`` imports, anywhere in it (``from . import x``,
    ``from .x import y``)."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                imported.add(node.module.split(".")[0])
            else:
                imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tfkmeans."):
            imported.add(node.module.split(".")[1])
    return imported


MODULES = sorted(path.stem for path in PACKAGE.glob("*.py"))


def test_every_module_has_a_layer():
    assert set(MODULES) == set(MAY_IMPORT), "a module without a row in docs/development.md's table"


@pytest.mark.parametrize("name", MODULES)
def test_a_module_imports_only_the_layers_it_may(name):
    imported = package_imports(PACKAGE / f"{name}.py") - {name}
    assert imported <= MAY_IMPORT[name], f"{name} imports {sorted(imported - MAY_IMPORT[name])}"


def test_estimators_do_not_import_each_other_but_through_the_base():
    """One module per family: the families share ``_kmeans._BaseKMeans`` and nothing else of
    each other, and no family is imported by the kernels (the table above)."""
    for name in ("_bisect_k_means", "_spherical_k_means"):
        path = PACKAGE / f"{name}.py"
        if path.exists():
            assert package_imports(path) & {"_bisect_k_means", "_spherical_k_means"} <= {name}
