"""A pytest plugin: scikit-learn's own k-means tests, run against tfkmeans.

It rebinds the names that scikit-learn's installed test modules import from
``sklearn.cluster`` (``KMeans``, ``MiniBatchKMeans``, ``BisectingKMeans``, ``k_means``,
``kmeans_plusplus``) to tfkmeans' before those modules are collected, so that every test and
every ``parametrize`` in them uses ours. Nothing of scikit-learn's test text is copied here.
Run it as CI does:

    .venv/bin/python -m pytest -p tests.sklearn_suite.rebind --pyargs \\
        sklearn.cluster.tests.test_k_means sklearn.cluster.tests.test_bisect_k_means

With ``TFKMEANS_SKLEARN_SUITE=original`` the names stay scikit-learn's, to see which tests
scikit-learn's own classes pass.
"""

import os

import sklearn.cluster

import tfkmeans

REBOUND = ("KMeans", "MiniBatchKMeans", "BisectingKMeans", "k_means", "kmeans_plusplus")


def pytest_configure(config):
    if os.environ.get("TFKMEANS_SKLEARN_SUITE") == "original":
        return
    for name in REBOUND:
        setattr(sklearn.cluster, name, getattr(tfkmeans, name))


def pytest_collection_finish(session):
    """Check that what was collected really uses tfkmeans' names, not scikit-learn's."""
    if os.environ.get("TFKMEANS_SKLEARN_SUITE") == "original":
        return
    modules = {item.module for item in session.items if hasattr(item, "module")}
    for module in modules:
        for name in REBOUND:
            if hasattr(module, name):
                assert getattr(module, name) is getattr(tfkmeans, name), f"{module.__name__}.{name} is not tfkmeans'"
