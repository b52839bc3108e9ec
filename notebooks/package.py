# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Choosing k with tfkmeans
#
# [![Open In Colab][badge]][colab]
#
# Where the lesson ends: the package `tfkmeans` on data of your own. This notebook clusters the
# iris flowers, compares several numbers of clusters, exports the chosen model for serving, and
# clusters text in cosine geometry with `SphericalKMeans`.
#
# Repository: <https://github.com/OWNER/REPO>
#
# [badge]: https://colab.research.google.com/assets/colab-badge.svg
# [colab]: https://colab.research.google.com/github/OWNER/REPO/blob/main/notebooks/package.ipynb

# %% [markdown]
# ## Set-up
#
# In Colab the first cell fetches the repository and installs the package from it (Colab already
# has TensorFlow, scikit-learn and pandas). Anywhere else it only puts the repository's root
# folder on the import path, so that `tfkmeans` imports from a clone.

# %%
# %matplotlib inline
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt

plt.ioff()  # a figure shows where a cell ends with it, not also where it is made

REPO_URL = "https://github.com/OWNER/REPO"  # the published repository; mkdocs.yml's repo_url says the same

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # fewer of TensorFlow's start-up notices
if "google.colab" in sys.modules:
    clone = Path("/content/repository")
    if not clone.is_dir():
        subprocess.run(["git", "clone", "--depth", "1", REPO_URL, str(clone)], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", str(clone)], check=True)
    os.chdir(clone)
# This notebook lives in notebooks/; the package is in the folder above.
repository = next(folder for folder in [Path.cwd(), *Path.cwd().parents] if (folder / "tfkmeans").is_dir())
sys.path.insert(0, str(repository))

# %% [markdown]
# ## Your own data
#
# `data/iris.csv` holds Fisher's iris data: 150 flowers, four measurements each, in centimetres.
# `KMeans` takes a pandas DataFrame as it is (or a NumPy array, a list, a `tf.Tensor`), and keeps
# its column names.

# %%
import pandas as pd

flowers = pd.read_csv(repository / "data" / "iris.csv")
flowers.describe().round(2)

# %% [markdown]
# ## Choosing k
#
# How many clusters are there? Fit `KMeans` for each number from 2 to 8 and compare two
# measures. The *inertia* (the sum of squared distances from each sample to its centre) always
# falls as k grows: look for the "elbow", where it stops falling fast. The *silhouette score*
# says how much closer each sample is to its own cluster than to the next one: higher is better.
# Each fit keeps the best of 10 k-means++ starts, and `random_state` makes every run the same.

# %%
from sklearn.metrics import silhouette_score

from tfkmeans import KMeans

numbers_of_clusters = range(2, 9)
inertias, silhouettes = [], []
for n_clusters in numbers_of_clusters:
    model = KMeans(n_clusters=n_clusters, n_init=10, random_state=700).fit(flowers)
    inertias.append(model.inertia_)
    silhouettes.append(silhouette_score(flowers, model.labels_))
    print(f"k = {n_clusters}: inertia {model.inertia_:8.3f}, silhouette {silhouettes[-1]:.3f}")

# %%
figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.plot(numbers_of_clusters, inertias, "o-")
left.set(xlabel="clusters", ylabel="inertia", title="The inertia always falls")
right.plot(numbers_of_clusters, silhouettes, "o-")
right.set(xlabel="clusters", ylabel="silhouette score", title="Higher is better")
figure

# %% [markdown]
# The silhouette score is highest at 2 clusters, the elbow of the inertia is at 3, and the
# flowers are of 3 species. Each is right about something: one species, setosa, stands well
# apart from the other two, which overlap. No score knows what you want the clusters for: look
# at the data and at more than one measure.
#
# With 3 clusters, compare the clusters with the species (`data/iris_species.csv`, which k-means
# never sees):

# %%
model = KMeans(n_clusters=3, n_init=10, random_state=700).fit(flowers)
species = pd.read_csv(repository / "data" / "iris_species.csv").iloc[:, 0]
pd.crosstab(species, model.labels_, rownames=["species"], colnames=["cluster"])

# %% [markdown]
# ## Export for serving
#
# `model.export(path)` writes a TensorFlow SavedModel into a new directory. Any process with
# TensorFlow can load and serve it, without this package: its `serving_default` signature takes
# a float32 batch `samples` and returns `cluster_index` and `squared_distance`. Here it goes to a
# temporary directory, loaded back as a serving process would load it.

# %%
import tempfile

import numpy as np
import tensorflow as tf

tf.get_logger().setLevel("ERROR")  # no notes on where the SavedModel's files went
first_flowers = flowers.head().to_numpy(np.float32)
with tempfile.TemporaryDirectory() as scratch:
    export_path = Path(scratch) / "iris_model"
    model.export(export_path)
    serve = tf.saved_model.load(str(export_path)).signatures["serving_default"]
    served = serve(samples=tf.constant(first_flowers))
print("cluster_index:   ", served["cluster_index"].numpy().tolist())
print("model.predict:   ", model.predict(flowers.head()).tolist())
print("squared_distance:", served["squared_distance"].numpy().astype(float).round(3).tolist())

# %% [markdown]
# ## Text, in cosine geometry
#
# Text is clustered by the direction of its TF-IDF row, not its length: spherical k-means
# (`SphericalKMeans`) puts each row at the centre of largest cosine similarity, and keeps each
# centre a direction of unit length. Here are the docstrings of Python's standard-library modules
# (read from their source, nothing imported), clustered both ways, the four heaviest terms of
# each cluster's centre beside its size. A docstring with none of the terms kept has no
# direction, and is left out.

# %%
import ast
import sysconfig

from sklearn.feature_extraction.text import TfidfVectorizer

from tfkmeans import SphericalKMeans

stdlib = sysconfig.get_paths()["stdlib"]
skip = {"site-packages", "test", "tests", "idlelib", "lib2to3", "__pycache__"}
names, texts = [], []
for folder, subfolders, files in os.walk(stdlib):
    subfolders[:] = sorted(name for name in subfolders if name not in skip)
    for file in sorted(name for name in files if name.endswith(".py")):
        with open(os.path.join(folder, file), "rb") as source:
            docstring = ast.get_docstring(ast.parse(source.read()))
        module = os.path.relpath(os.path.join(folder, file[:-3]), stdlib).replace(os.sep, ".")
        if docstring and not module.startswith("_"):
            names.append(module.removesuffix(".__init__"))
            texts.append(docstring)

vectorizer = TfidfVectorizer(stop_words="english", max_df=0.2, min_df=3)
X = vectorizer.fit_transform(texts)  # sparse, rows of unit length
terms = vectorizer.get_feature_names_out()
kept = X.getnnz(axis=1) > 0
X, names = X[kept], [name for name, keep in zip(names, kept) if keep]

for text_model in (
    SphericalKMeans(n_clusters=10, n_init=10, random_state=0),
    KMeans(n_clusters=10, n_init=10, random_state=0),
):
    text_model.fit(X)
    print(type(text_model).__name__)
    for j in np.argsort(-np.bincount(text_model.labels_, minlength=10))[:5]:
        top = ", ".join(terms[np.argsort(text_model.cluster_centers_[j])[::-1][:4]])
        print(f"  {np.sum(text_model.labels_ == j):3} docstrings: {top}")
