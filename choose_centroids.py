"""Initialisation: the second step of the lesson "Clustering and k-means".

The same samples as generate_samples.py, then choose_random_centroids picks n_clusters of them
at random as the initial guess of the centroids, which are plotted instead of the true
centroids. "Try running this script a few times, noting that the centroids move around quite a
bit": choose_random_centroids gets no seed here (exercise 1, in kmeans_iterate.py, fixes that).

    python choose_centroids.py
"""

from lesson_cli import command_line, show_or_save  # first, so that --help answers at once

from functions import choose_random_centroids, create_samples, plot_clusters

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

sample_values = samples.numpy()
centroid_values = initial_centroids.numpy()

# "We then plot out those first guesses ..., rather than the actual centroids"
figure = plot_clusters(sample_values, centroid_values, n_samples_per_cluster)
show_or_save(figure, save_path)
