"""The notebooks: each .py source and its .ipynb hold the same cells, they name the repository that
mkdocs.yml names, and (slow) each runs in a fresh kernel and shows what its text says."""

import ast
import os
import re

import numpy as np
import pytest

from conftest import REPO

jupytext = pytest.importorskip("jupytext", reason="pip install -r requirements-dev.txt")

NOTEBOOKS = REPO / "notebooks"
NAMES = ["lesson", "package"]


def cells(path):
    """(cell type, source) of each cell, as jupytext reads ``path`` (a .py script or an .ipynb)."""
    return [(cell.cell_type, cell.source) for cell in jupytext.read(path).cells]


def repo_url():
    """``repo_url`` from mkdocs.yml: the published repository's address."""
    match = re.search(r"^repo_url:\s*(\S+)\s*$", (REPO / "mkdocs.yml").read_text(), flags=re.M)
    assert match, "mkdocs.yml has no repo_url line"
    return match.group(1).rstrip("/")


@pytest.mark.parametrize("name", NAMES)
def test_py_and_ipynb_hold_the_same_cells(name):
    script, notebook = NOTEBOOKS / f"{name}.py", NOTEBOOKS / f"{name}.ipynb"
    assert cells(script) == cells(notebook), f"run: .venv/bin/jupytext --sync notebooks/{name}.py"


@pytest.mark.parametrize("name", NAMES)
def test_ipynb_is_committed_without_outputs(name):
    notebook = jupytext.read(NOTEBOOKS / f"{name}.ipynb")
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_the_notebook_names_the_repository_mkdocs_names(name):
    """The repository's address is in mkdocs.yml once for the site; a notebook arrives in Colab
    alone, so it carries a copy (its clone URL and its Colab link), which must agree."""
    url = repo_url()
    first = jupytext.read(NOTEBOOKS / f"{name}.py").cells
    badge, setup = first[0].source, next(cell.source for cell in first if cell.cell_type == "code")
    colab = url.replace("https://github.com/", "https://colab.research.google.com/github/")
    assert f"{colab}/blob/main/notebooks/{name}.ipynb" in badge
    assert f"REPO_URL = {url!r}".replace("'", '"') in setup
    assert "google.colab" in setup and "git" in setup and "clone" in setup


# --- running them ---------------------------------------------------------------------------


def execute(name):
    """Run notebooks/<name>.ipynb in a fresh python3 kernel (this environment's Python) from the
    notebooks folder, as Jupyter does; return the executed notebook."""
    nbclient = pytest.importorskip("nbclient", reason="pip install -r requirements-dev.txt")
    import nbformat

    notebook = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,  # seconds per cell
        startup_timeout=120,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    # As a learner's kernel: without the tests' log level, and without pytest's own variable,
    # under which ipykernel leaves file descriptor 2 (TensorFlow's C++ lines) out of the outputs.
    learner = {
        key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", "PYTEST_CURRENT_TEST")
    }
    client.execute(env=learner)
    return notebook


def stderr_lines(notebook):
    """The lines the notebook's cells wrote to stderr (C++ libraries' included: the kernel shows
    file descriptor 2 in the cells' output)."""
    return [
        line
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stderr"
        for line in output.text.splitlines()
    ]


def printed(notebook):
    """Everything the notebook's cells printed to stdout, in order."""
    return "".join(
        output.text
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream" and output.name == "stdout"
    )


def repository_files():
    """The names in the repository's root and notebooks folder (caches aside): a notebook run
    must leave them as they were."""
    return sorted(
        str(path.relative_to(REPO))
        for folder in (REPO, NOTEBOOKS)
        for path in folder.iterdir()
        if path.name != "__pycache__" and not path.name.startswith(".")
    )


def images(cell):
    return [output for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]


def lesson_loop():
    """The exercise solution (kmeans_iterate.py's loop), computed here with the lesson's functions:
    the true centroids, the seeded start and the centroids after each of 10 iterations, rounded as
    kmeans_iterate.py prints them."""
    from functions import assign_to_nearest, choose_random_centroids, create_samples, update_centroids

    def rounded(centroids):
        return np.round(centroids.numpy().astype(float), 3).tolist()

    n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor = 2, 3, 500, 700, 70
    centroids, samples = create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed)
    updated = choose_random_centroids(samples, n_clusters, seed)
    steps = [rounded(updated)]
    for _ in range(10):
        updated = update_centroids(samples, assign_to_nearest(samples, updated), n_clusters)
        steps.append(rounded(updated))
    return rounded(centroids), steps


@pytest.mark.slow
def test_lesson_notebook_runs_and_ends_where_kmeans_iterate_ends():
    before = repository_files()
    notebook = execute("lesson")
    text = printed(notebook)

    iterations = re.findall(r"^iteration\s+(\d+):\s+(\[.*\])$", text, flags=re.M)
    assert [int(number) for number, _ in iterations] == list(range(1, 11)), text
    true_centroids, steps = lesson_loop()
    assert ast.literal_eval(re.search(r"^true centroids:\s+(\[.*\])$", text, flags=re.M).group(1)) == true_centroids
    assert ast.literal_eval(re.search(r"^initial centroids:\s+(\[.*\])$", text, flags=re.M).group(1)) == steps[0]
    assert [ast.literal_eval(centroids) for _, centroids in iterations] == steps[1:]

    # Every figure shows, once: each cell that calls plot_clusters has one PNG.
    figure_cells = [cell for cell in notebook.cells if cell.cell_type == "code" and "plot_clusters(" in cell.source]
    assert len(figure_cells) >= 4
    assert [len(images(cell)) for cell in figure_cells] == [1] * len(figure_cells)
    # The empty-cluster example ends where the lesson page says it does.
    assert "update 3: [[0.75, 1.0], [0.25, 0.0]]" in text
    assert stderr_lines(notebook) == []  # only the lesson's output: none of TensorFlow's log lines
    assert repository_files() == before, "the notebook wrote into the repository"


@pytest.mark.slow
def test_package_notebook_runs_chooses_k_and_serves_the_export():
    before = repository_files()
    notebook = execute("package")
    text = printed(notebook)

    sweep = re.findall(r"^k = (\d+): inertia\s+([\d.]+), silhouette ([\d.]+)$", text, flags=re.M)
    assert [int(k) for k, _, _ in sweep] == list(range(2, 9)), text
    inertias = [float(inertia) for _, inertia, _ in sweep]
    assert inertias == sorted(inertias, reverse=True)  # the inertia falls as k grows
    assert max(sweep, key=lambda row: float(row[2]))[0] == "2"  # as the text says: highest at k = 2

    served = re.search(r"^cluster_index:\s+(\[.*\])$", text, flags=re.M).group(1)
    predicted = re.search(r"^model.predict:\s+(\[.*\])$", text, flags=re.M).group(1)
    assert ast.literal_eval(served) == ast.literal_eval(predicted)
    assert sum(len(images(cell)) for cell in notebook.cells) == 1
    assert repository_files() == before, "the notebook wrote into the repository"
