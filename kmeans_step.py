"""Updating Centroids: one iteration of k-means, the third step of the lesson.

"This code will:

- Generate samples from initial centroids
- Randomly choose initial centroids
- Associate each sample to its nearest centroid
- Update each centroid to be the mean of the samples associated to it"

and plot the updated centroids over the samples.

    python kmeans_step.py
"""

from lesson_cli import command_line, show_or_save  # first, so that --help answers at once

from functions import assign_to_nearest, choose_random_centroids, create_samples, plot_clusters, update_centroids

n_features = 2
n_clusters = 3
n_samples_per_cluster = 500
seed = 700
embiggen_factor = 70
n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor, save_path = command_line(
    n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor
)

centroids, samples = create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed)
initial_centroids = choose_random_centroids(samples, n_clusters)
nearest_indices = assign_to_nearest(samples, initial_centroids)
updated_centroids = update_centroids(samples, nearest_indices, n_clusters)

sample_values = samples.numpy()
centroid_values = updated_centroids.numpy()

figure = plot_clusters(sample_values, centroid_values, n_samples_per_cluster)
show_or_save(figure, save_path)
