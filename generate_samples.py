"""Generating Samples: the first step of the lesson "Clustering and k-means".

Generates n_clusters blobs of samples around random centres with create_samples, then plots
them with plot_clusters: one colour per blob, each true centroid a big magenta X.

    python generate_samples.py                 # the lesson's settings
    python generate_samples.py --n-clusters 5  # any setting below can be changed (--help)
"""

from lesson_cli import command_line, show_or_save  # first, so that --help answers at once

from functions import create_samples, plot_clusters

# "This just sets up the number of clusters and features ..., and the number of samples to
# generate. Increasing the embiggen_factor will increase the "spread" or the size of the clusters."
# (It spreads the centres further apart; each blob's own spread is its standard deviation, 5.0.)
n_features = 2
n_clusters = 3
n_samples_per_cluster = 500
seed = 700
embiggen_factor = 70
n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor, save_path = command_line(
    n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor
)

centroids, samples = create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed)

# TensorFlow 2 runs eagerly: no tf.Session, no tf.initialize_all_variables(), and
# session.run(tensor) becomes tensor.numpy().
sample_values = samples.numpy()
centroid_values = centroids.numpy()

figure = plot_clusters(sample_values, centroid_values, n_samples_per_cluster)
show_or_save(figure, save_path)
