# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Clustering and k-means, in TensorFlow 2
#
# [![Open In Colab][badge]][colab]
#
# The lesson "Clustering and k-means" from LearningTensorFlow.com, step by step, in today's
# TensorFlow. Read the lesson beside it: each heading here is one of its sections. The code calls
# the five functions of the repository's `functions.py`, with the lesson's names.
#
# Repository: <https://github.com/OWNER/REPO>
#
# [badge]: https://colab.research.google.com/assets/colab-badge.svg
# [colab]: https://colab.research.google.com/github/OWNER/REPO/blob/main/notebooks/lesson.ipynb

# %% [markdown]
# ## Set-up
#
# In Colab this notebook arrives alone, so the first cell fetches the repository for
# `functions.py`. Colab already has TensorFlow, NumPy and matplotlib. Anywhere else the cell only
# puts the repository's root folder on the import path. It also has matplotlib draw figures into
# the notebook, each one where a cell ends with it (and only there). Last, it loads TensorFlow
# as the lesson's scripts do, through their `lesson_cli.py`: TensorFlow's libraries print a dozen
# log lines as they start, which that sets aside, so that only the lesson's output shows.

# %%
# %matplotlib inline
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt

plt.ioff()  # a figure shows where a cell ends with it, not also where it is made

REPO_URL = "https://github.com/OWNER/REPO"  # the published repository; mkdocs.yml's repo_url says the same

if "google.colab" in sys.modules:
    clone = Path("/content/repository")
    if not clone.is_dir():
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, str(clone)], check=True)
    os.chdir(clone)
# This notebook lives in notebooks/; functions.py is in the folder above.
repository = next(folder for folder in [Path.cwd(), *Path.cwd().parents] if (folder / "functions.py").is_file())
sys.path.insert(0, str(repository))

from lesson_cli import load_tensorflow_quietly  # noqa: E402 - the lesson scripts' plumbing, beside functions.py

load_tensorflow_quietly()

# %% [markdown]
# ## Generating samples
#
# Clustering looks for groups of points that are alike. To try it we need data that has groups.
# Points drawn uniformly at random would be either thinly spread or one big group, so the lesson
# draws the groups itself: first a random centre for each cluster, then normally distributed
# points around it. Each group is a *blob*.
#
# `create_samples` does this. It returns the true centres (the lesson calls them centroids) and
# all the samples, blob after blob. The lesson keeps two features so that the samples can be
# plotted. A larger `embiggen_factor` spreads the centres further apart.

# %%
from functions import create_samples, plot_clusters

n_features = 2
n_clusters = 3
n_samples_per_cluster = 500
seed = 700
embiggen_factor = 70

centroids, samples = create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed)
centroids

# %% [markdown]
# The lesson ran its tensors in a `tf.Session`. TensorFlow 2 runs each line as it comes, and
# `tensor.numpy()` gives the values that `session.run(tensor)` gave.
#
# `plot_clusters` colours each blob and marks each centroid with a big magenta X. It returns a
# matplotlib figure, which the notebook shows.

# %%
sample_values = samples.numpy()
centroid_values = centroids.numpy()
plot_clusters(sample_values, centroid_values, n_samples_per_cluster)

# %% [markdown]
# ## Initialisation
#
# k-means starts from a guess of where the centroids are. The lesson's guess is `n_clusters`
# samples picked at random. `choose_random_centroids` numbers the samples (`tf.range`), shuffles
# the numbers (`tf.random.shuffle`), keeps the first `n_clusters` of them (`tf.slice`) and
# collects those samples (`tf.gather`).
#
# As in the lesson, no seed is passed here, so the guess changes each time you run the cell. (The
# call to `tf.random.set_seed` is not in the lesson: it makes a fresh run of the whole notebook
# draw the same guesses, so that its output can be checked.)

# %%
import tensorflow as tf

from functions import choose_random_centroids

tf.random.set_seed(seed)
initial_centroids = choose_random_centroids(samples, n_clusters)
plot_clusters(sample_values, initial_centroids.numpy(), n_samples_per_cluster)

# %% [markdown]
# The crosses now sit on three of the samples, not at the blobs' centres.
#
# ## Updating centroids
#
# From a guess, one iteration of k-means has two steps:
#
# 1. *Assign*: give each sample the number of the centroid nearest to it.
#    `assign_to_nearest` measures the (squared) Euclidean distance from every sample to every
#    centroid. It adds an axis to each with `tf.expand_dims`, so that `tf.subtract` broadcasts
#    and subtracts every centroid from every sample in one go. `tf.argmin` then picks the
#    nearest centroid.
# 2. *Update*: move each centroid to the mean of the samples assigned to it.
#    `update_centroids` splits the samples into groups by their number
#    (`tf.dynamic_partition`), takes the mean of each group (`tf.reduce_mean`) and joins the
#    means (`tf.concat`).

# %%
from functions import assign_to_nearest, update_centroids

nearest_indices = assign_to_nearest(samples, initial_centroids)
updated_centroids = update_centroids(samples, nearest_indices, n_clusters)
plot_clusters(sample_values, updated_centroids.numpy(), n_samples_per_cluster)

# %% [markdown]
# That is one iteration of k-means, from the guess above: the crosses have moved towards the
# blobs. The exercises turn it into the whole algorithm.
#
# ## Exercises
#
# 1. Pass a seed to `choose_random_centroids` as well, so that the initial centroids are the same
#    on every run.
# 2. Alternate `assign_to_nearest` and `update_centroids` 10 times: each iteration starts from
#    the centroids the one before updated.
#
# The cell prints the centroids after each iteration, below the true ones, as the repository's
# `kmeans_iterate.py` does.

# %%
import numpy as np

n_iterations = 10  # exercise 2: "perform this iteration 10 times"


def rounded(centroids):
    """The centroids as a list of rows, each number rounded to 3 decimals, to print on one line."""
    return np.round(centroids.numpy().astype(float), 3).tolist()


print("true centroids:   ", rounded(centroids))

# Exercise 1: pass the seed on, so the initial centroids are the same in every run.
initial_centroids = choose_random_centroids(samples, n_clusters, seed)
print("initial centroids:", rounded(initial_centroids))

# Exercise 2: alternate assign_to_nearest and update_centroids, 10 times.
updated_centroids = initial_centroids
for iteration in range(1, n_iterations + 1):
    nearest_indices = assign_to_nearest(samples, updated_centroids)
    updated_centroids = update_centroids(samples, nearest_indices, n_clusters)
    print(f"iteration {iteration:>2}:     ", rounded(updated_centroids))

# %% [markdown]
# The lesson promises that the centroids end much closer to the true ones with more iterations.
# Here each found centroid ends close to a true one, though in another order: k-means numbers
# its clusters as it finds them. After a few iterations nothing changes any more, because
# k-means has converged. (The lesson leaves stopping rules to a later tutorial; the repository's
# `tfkmeans` command stops by one, `--tolerance`.)

# %%
plot_clusters(sample_values, updated_centroids.numpy(), n_samples_per_cluster)

# %% [markdown]
# ## Empty clusters
#
# With the lesson's settings every centroid keeps some samples. From a bad start one can end up
# with none. The lesson's `tf.reduce_mean` of an empty group is NaN, and a NaN centroid stays NaN
# for good. The `update_centroids` here moves such a centroid instead onto the sample that lies
# farthest from its own cluster's centroid. Below, no sample is nearest to the second start,
# `[3, 3]`: after the first update it takes the sample `[0, 0]`, and two updates later the two
# centroids have split the four samples between them.

# %%
few_samples = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [1.0, 1.0]]
few_centroids = tf.constant([[0.5, 0.5], [3.0, 3.0]])
for update in range(1, 4):
    few_centroids = update_centroids(few_samples, assign_to_nearest(few_samples, few_centroids), 2)
    print(f"update {update}:", rounded(few_centroids))
