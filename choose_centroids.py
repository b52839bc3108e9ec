"""Initialisation: the second step of the lesson "Clustering and k-means".

Generates the same samples as generate_samples.py, then picks n_clusters of them at random
with choose_random_centroids as the initial guess of the centroids, and plots those guesses
instead of the true centroids. Run it a few times: the guesses move around, because (as in the
lesson) choose_random_centroids gets no seed here. Exercise 1, in kmeans_iterate.py, fixes that.

    python choose_centroids.py
"""

from functions import choose_random_centroids, create_samples, plot_clusters
from lesson_cli import lesson_parser, show_or_save

n_features = 2
n_clusters = 3
n_samples_per_cluster = 500
seed = 700
embiggen_factor = 70

args = lesson_parser(
    __doc__, n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor
).parse_args()
n_features, n_clusters, n_samples_per_cluster = args.n_features, args.n_clusters, args.n_samples_per_cluster
seed, embiggen_factor = args.seed, args.embiggen_factor

centroids, samples = create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed)
# "randomly choose a number of samples from the dataset to act as this initial guess"
initial_centroids = choose_random_centroids(samples, n_clusters)

sample_values = samples.numpy()
updated_centroid_value = initial_centroids.numpy()

print("Initial centroids (chosen at random, different every run):")
print(updated_centroid_value)

# "We then plot out those first guesses ... rather than the actual centroids"
figure = plot_clusters(
    sample_values, updated_centroid_value, n_samples_per_cluster, title="Initial centroids, chosen at random"
)
show_or_save(figure, args.save, __file__)
