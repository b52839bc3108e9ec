"""Generating Samples: the first step of the lesson "Clustering and k-means".

Draws n_clusters blobs of samples around random centres with create_samples, then plots them
with plot_clusters: one colour per blob, each true centroid a big magenta X.

    python generate_samples.py               # the lesson's settings
    python generate_samples.py --seed 1      # other samples
"""

from functions import create_samples, plot_clusters
from lesson_cli import lesson_parser, show_or_save

# "This just sets up the number of clusters and features ... and the number of samples to
# generate." The command line can change each of them (--help lists the flags).
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

# The lesson built these in a graph and ran it in a tf.Session; TensorFlow 2 runs them at once.
centroids, samples = create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed)

# In TF 1 this took `session.run`; now a tensor's values are one .numpy() away.
sample_values = samples.numpy()
centroid_values = centroids.numpy()

figure = plot_clusters(
    sample_values, centroid_values, n_samples_per_cluster, title="Generated samples and their true centroids"
)
show_or_save(figure, args.save, __file__)
