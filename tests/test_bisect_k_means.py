"""BisectingKMeans against scikit-learn's on data where the answer does not hang on the random
stream (the two draw their starts differently): weights that decide where each split is seeded,
and lopsided groups on which the two split rules must choose different clusters."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.cluster as skc
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score

from tfkmeans import BisectingKMeans


def grid(names, *axes, default):
    """Every combination of ``axes`` for ``parametrize(names, ...)``; those not in ``default``
    (a list of tuples) are marked slow, to keep the default suite's time."""
    return pytest.mark.parametrize(
        names,
        [pytest.param(*case, marks=() if case in default else pytest.mark.slow) for case in itertools.product(*axes)],
    )


def sorted_rows(centres):
    return centres[np.lexsort(centres.T[::-1])]


def assert_same_clustering(ours, theirs, X, weights=None, rtol=1e-9):
    """The same partition (up to the clusters' numbering), centres and inertia; our inertia is
    also the (weighted) squared distances to the centres of the labels, computed here."""
    assert adjusted_rand_score(theirs.labels_, ours.labels_) == 1.0
    np.testing.assert_allclose(
        sorted_rows(ours.cluster_centers_), sorted_rows(theirs.cluster_centers_), rtol=rtol, atol=1e-9
    )
    dense = X.toarray() if sp.issparse(X) else X
    squared = np.sum((dense - ours.cluster_centers_[ours.labels_]) ** 2, axis=1)
    by_hand = float(squared @ (np.ones(len(dense)) if weights is None else weights))
    assert ours.inertia_ == pytest.approx(by_hand, rel=rtol, abs=1e-12)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-6, abs=1e-12)


# --- the weights seed every split -------------------------------------------------------------

# Three points that carry the weight, and a cloud far from them that weighs (almost) nothing: a
# split seeded in proportion to the weights starts on weighted points, and then every start gives
# the same answer ({0, 1} | {10}, then 0 | 1). Seeded without them, it starts in the cloud (200
# of the 203 points) and ends elsewhere.
HEAVY = np.array([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
CLOUD = np.random.default_rng(0).normal(size=(200, 2)) * 2 + [40.0, 30.0]
HEAVY_AND_CLOUD = np.vstack([HEAVY, CLOUD])


@grid(
    "light, init, sparse",
    [0.0, 1e-6],
    ["random", "k-means++"],
    [False, True],
    default=[(1e-6, "random", False), (0.0, "k-means++", True), (1e-6, "k-means++", False)],
)
def test_each_split_is_seeded_with_the_sample_weights(light, init, sparse):
    weights = np.r_[[3.0, 1.0, 2.0], np.full(len(CLOUD), light)]
    X = sp.csr_matrix(HEAVY_AND_CLOUD + 50) if sparse else HEAVY_AND_CLOUD  # positive: sparse holds the same numbers
    for random_state in range(2):
        parameters = dict(init=init, random_state=random_state)
        ours = BisectingKMeans(3, **parameters).fit(X, sample_weight=weights)
        theirs = skc.BisectingKMeans(3, **parameters).fit(X, sample_weight=weights)
        assert_same_clustering(ours, theirs, X, weights)


@settings(max_examples=15, deadline=None)
@given(
    left=st.floats(-20, 20),
    gap=st.floats(1, 20),
    cloud_at=st.tuples(st.floats(60, 200), st.floats(-100, 100)),
    heavy_weights=st.tuples(st.floats(0.5, 100), st.floats(0.5, 100)),
    light=st.sampled_from([0.0, 1e-9]),
    random_state=st.integers(0, 2**31 - 1),
)
def test_two_weighted_points_and_a_weightless_cloud_split_as_in_scikit_learn(
    left, gap, cloud_at, heavy_weights, light, random_state
):
    """Property: whatever the positions and weights, two weighted points among 60 nearly
    weightless ones are split apart, each centre on its weighted point (nearly), as scikit-learn
    splits them from its own random start."""
    heavy = np.array([[left, 0.0], [left + gap, 0.0]])
    cloud = np.random.default_rng(random_state % 1000).normal(size=(60, 2)) + np.asarray(cloud_at)
    X = np.vstack([heavy, cloud])
    weights = np.r_[heavy_weights, np.full(60, light)]
    ours = BisectingKMeans(2, random_state=random_state).fit(X, sample_weight=weights)
    theirs = skc.BisectingKMeans(2, random_state=random_state).fit(X, sample_weight=weights)
    assert_same_clustering(ours, theirs, X, weights, rtol=1e-7)
    assert ours.labels_[0] != ours.labels_[1]
    np.testing.assert_allclose(sorted_rows(ours.cluster_centers_), heavy, atol=1e-3)


# --- the two split rules ----------------------------------------------------------------------


def lopsided():
    """Many samples in two tight groups close together (A, B: the largest cluster, of small
    inertia), and a few in two wide groups far apart (C, D: the largest inertia). Every start of
    every split ends at these groups, so the first split is AB | CD whatever the random stream,
    and the rule alone decides the second: biggest_inertia splits CD, largest_cluster AB."""
    rng = np.random.default_rng(0)
    parts = [
        rng.normal(size=(200, 2)) * 0.05 + [0, 0],
        rng.normal(size=(200, 2)) * 0.05 + [1, 0],
        rng.normal(size=(10, 2)) + [100, 0],
        rng.normal(size=(10, 2)) + [120, 0],
    ]
    groups = np.repeat(np.arange(4), [200, 200, 10, 10])
    return np.vstack(parts) + 200.0, groups  # positive: a sparse copy holds the same numbers


@grid("init, sparse", ["random", "k-means++"], [False, True], default=[("random", False), ("k-means++", True)])
def test_the_two_split_rules_split_different_clusters_as_scikit_learns_do(init, sparse):
    X, groups = lopsided()
    data = sp.csr_matrix(X) if sparse else X
    # What each rule must give, from the groups themselves: which groups end up together.
    expected = {
        "biggest_inertia": np.select([groups <= 1, groups == 2], [0, 1], 2),  # AB, C, D
        "largest_cluster": np.select([groups == 0, groups == 1], [0, 1], 2),  # A, B, CD
    }
    labels = {}
    for strategy, partition in expected.items():
        for random_state in range(2):
            parameters = dict(bisecting_strategy=strategy, init=init, random_state=random_state)
            ours = BisectingKMeans(3, **parameters).fit(data)
            theirs = skc.BisectingKMeans(3, **parameters).fit(data)
            assert_same_clustering(ours, theirs, data)
            assert adjusted_rand_score(partition, ours.labels_) == 1.0
            labels[strategy] = ours.labels_
    assert adjusted_rand_score(labels["biggest_inertia"], labels["largest_cluster"]) < 0.5


def test_the_inertia_rule_weighs_the_samples_and_the_size_rule_counts_them():
    """Weights that make the two tight groups the costlier cluster turn biggest_inertia to them,
    while largest_cluster, which counts samples (as scikit-learn's does), splits them anyway;
    CD weighted up instead leaves largest_cluster splitting AB."""
    X, groups = lopsided()
    heavy_ab = np.where(groups <= 1, 100.0, 1.0)  # AB: 400 x 0.25 x 100 > CD: about 2,000
    heavy_cd = np.where(groups <= 1, 1.0, 100.0)
    together = {  # which groups end up in one cluster
        ("biggest_inertia", "ab"): np.select([groups == 0, groups == 1], [0, 1], 2),
        ("largest_cluster", "ab"): np.select([groups == 0, groups == 1], [0, 1], 2),
        ("biggest_inertia", "cd"): np.select([groups <= 1, groups == 2], [0, 1], 2),
        ("largest_cluster", "cd"): np.select([groups == 0, groups == 1], [0, 1], 2),
    }
    for (strategy, which), partition in together.items():
        weights = heavy_ab if which == "ab" else heavy_cd
        parameters = dict(bisecting_strategy=strategy, random_state=0)
        ours = BisectingKMeans(3, **parameters).fit(X, sample_weight=weights)
        theirs = skc.BisectingKMeans(3, **parameters).fit(X, sample_weight=weights)
        assert_same_clustering(ours, theirs, X, weights)
        assert adjusted_rand_score(partition, ours.labels_) == 1.0
