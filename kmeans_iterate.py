"""The exercises of the lesson "Clustering and k-means": k-means, iterated.

1) "Update the script to include a new seed for random centroids": choose_random_centroids
   gets the seed, so the initial centroids are the same every time the script is run.
2) "Update the code to perform this iteration 10 times, before stopping": assign_to_nearest
   and update_centroids alternate, each iteration starting from the centroids the one before
   updated.

Each iteration prints the centroids, beside the true centroids printed first: "You'll find that
the resulting centroids are much closer on average with more iterations of k-means."

    python kmeans_iterate.py
"""

from lesson_cli import command_line, show_or_save  # first, so that --help answers at once

import numpy as np

from functions import assign_to_nearest, choose_random_centroids, create_samples, plot_clusters, update_centroids

n_features = 2
n_clusters = 3
n_samples_per_cluster = 500
seed = 700
embiggen_factor = 70
n_iterations = 10  # exercise 2: "perform this iteration 10 times"
n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor, save_path = command_line(
    n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor
)


def rounded(centroids):
    """The centroids as a list of rows, each number rounded to 3 decimals, to print on one line."""
    return np.round(centroids.numpy().astype(float), 3).tolist()


centroids, samples = create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed)
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

sample_values = samples.numpy()
centroid_values = updated_centroids.numpy()
figure = plot_clusters(sample_values, centroid_values, n_samples_per_cluster)
show_or_save(figure, save_path)
