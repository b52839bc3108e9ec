"""Exercises 1 and 2 of the lesson "Clustering and k-means": k-means, iterated.

Exercise 1: choose_random_centroids gets a seed, so the initial centroids are the same in every
run. Exercise 2: assign_to_nearest and update_centroids alternate 10 times; "the resulting
centroids are much closer on average with more iterations".

Each iteration prints the inertia (the within-cluster sum of squared distances, which k-means
makes smaller), how far the centroids moved, how many samples changed cluster, and where the
centroids are now beside the true centroids. The figure shows the samples coloured by the
cluster k-means gave them, beside the inertia per iteration.

    python kmeans_iterate.py                                  # the exercise solution
    python kmeans_iterate.py --tolerance 0 --iterations 100   # stop once converged
    python kmeans_iterate.py --init kmeans++                  # k-means++ seeding
    python kmeans_iterate.py --data data/iris.csv --output iris.json
    python kmeans_iterate.py --animate kmeans.gif             # watch it work
    python kmeans_iterate.py --fast                           # the compiled loop
"""

import numpy as np

import beyond_the_lesson as beyond
from functions import (
    assign_to_nearest,
    choose_kmeans_plus_plus_centroids,
    choose_random_centroids,
    create_samples,
    inertia,
    kmeans,
    update_centroids,
)
from lesson_cli import (
    check_figure_path,
    check_output_path,
    fail,
    flags_given,
    iterate_parser,
    print_centroids,
    print_iteration,
    print_iteration_header,
    show_or_save,
)

n_features = 2
n_clusters = 3
n_samples_per_cluster = 500
seed = 700
embiggen_factor = 70
iterations = 10  # exercise 2: "perform this iteration 10 times"

parser = iterate_parser(
    __doc__, n_features, n_clusters, n_samples_per_cluster, seed, embiggen_factor, iterations
)
args = parser.parse_args()
n_features, n_clusters, n_samples_per_cluster = args.n_features, args.n_clusters, args.n_samples_per_cluster
seed, embiggen_factor, iterations = args.seed, args.embiggen_factor, args.iterations
tolerance = args.tolerance  # None: exactly `iterations` iterations, as in the exercise

# Everything that can be wrong with the command line is found now, before any work is done.
check_figure_path(args.save)
check_output_path(args.output, "--output", [".json"])
check_output_path(args.animate, "--animate", [".gif"])
if args.fast and args.animate:
    fail("--animate draws every iteration, which --fast does not keep; use one or the other")
if args.data is not None:
    for flag in ("--n-features", "--n-samples-per-cluster", "--embiggen-factor"):
        if flag in flags_given():
            fail(f"{flag} sets up generated samples, so it does not go with --data")

# The samples: the lesson's generated blobs, or your own data.
if args.data is None:
    centroids, samples = create_samples(n_clusters, n_samples_per_cluster, n_features, embiggen_factor, seed)
    true_centroids = centroids.numpy()
    print(
        f"k-means on {samples.shape[0]} generated samples, {n_features} features, {n_clusters} clusters, seed {seed}"
    )
    print("True centroids:")
    print_centroids(true_centroids)
else:
    try:
        samples = beyond.load_samples(args.data)
    except beyond.DataError as error:
        fail(f"--data {error}")
    if samples.shape[0] < n_clusters:
        fail(f"--data {args.data}: {samples.shape[0]} samples is fewer than --n-clusters {n_clusters}")
    true_centroids = None
    print(
        f"k-means on {args.data}: {samples.shape[0]} samples, {samples.shape[1]} features, {n_clusters} clusters"
    )

lesson_tensor_gib = samples.shape[0] * n_clusters * samples.shape[1] * 4 / 2**30
if not args.fast and lesson_tensor_gib > 1:
    print(
        f"Note: each step of the lesson's loop builds a {lesson_tensor_gib:.1f} GiB tensor for this data; "
        "--fast runs the compiled loop, which does not."
    )

# Exercise 1: pass a seed, so that the initial centroids are the same in every run.
if args.init == "random":
    initial_centroids = choose_random_centroids(samples, n_clusters, seed)
else:
    initial_centroids = choose_kmeans_plus_plus_centroids(samples, n_clusters, seed)
print(f"Initial centroids ({args.init}, seed {seed}):")
print_centroids(initial_centroids.numpy(), true_centroids)
print()

# Exercise 2: alternate assign_to_nearest and update_centroids.
print_iteration_header()
if not args.fast:
    centroids = initial_centroids
    nearest_indices = assign_to_nearest(samples, centroids)
    # Kept for the animation: frame 0 is the starting point, then one frame per iteration.
    centroid_history = [centroids.numpy()]
    index_history = [nearest_indices.numpy()]
    starting_inertia = inertia(samples, centroids, nearest_indices)
    inertias, changes = [], []  # one per iteration
    for iteration in range(1, iterations + 1):
        updated_centroids = update_centroids(samples, nearest_indices, n_clusters)
        updated_indices = assign_to_nearest(samples, updated_centroids)

        shift = float(np.max(np.linalg.norm(updated_centroids.numpy() - centroids.numpy(), axis=1)))
        changed = int(np.sum(updated_indices.numpy() != nearest_indices.numpy()))
        centroids, nearest_indices = updated_centroids, updated_indices
        centroid_history.append(centroids.numpy())
        index_history.append(nearest_indices.numpy())
        inertias.append(inertia(samples, centroids, nearest_indices))
        changes.append(changed)

        print_iteration(iteration, inertias[-1], shift, changed)
        if n_clusters <= 10:
            print_centroids(centroid_history[-1], true_centroids, indent=" " * 11)
        if tolerance is not None and (shift <= tolerance or changed == 0):
            break
else:
    # The same loop, compiled into one TensorFlow function (functions.kmeans).
    result = kmeans(samples, initial_centroids, max_iterations=iterations, tolerance=tolerance)
    for iteration in range(result.n_iterations):
        print_iteration(
            iteration + 1,
            result.inertia_history[iteration],
            result.shift_history[iteration],
            result.changed_history[iteration],
        )
    centroids, nearest_indices = result.centroids, result.nearest_indices
    inertias = [float(value) for value in result.inertia_history]
    changes = [int(value) for value in result.changed_history]
    shift = float(result.shift_history[-1])

n_run = len(inertias)
converged = shift <= (tolerance or 0.0) or changes[-1] == 0
print()
if converged:
    print(f"converged after {n_run} iterations")
    settled = n_run
    while settled > 1 and changes[settled - 2] == 0:
        settled -= 1
    if tolerance is None and settled < n_run:
        print(
            f"(no sample has changed cluster since iteration {settled}: --tolerance 0 would have stopped there)"
        )
else:
    print(f"stopped after {n_run} iterations without converging")
print("Final centroids:")
print_centroids(centroids.numpy(), true_centroids)

if args.output is not None:
    settings = {
        "n_clusters": n_clusters,
        "init": args.init,
        "seed": seed,
        "iterations": iterations,
        "tolerance": tolerance,
        "fast": args.fast,
        "data": args.data,
    }
    if args.data is None:
        settings.update(
            n_features=n_features,
            n_samples_per_cluster=n_samples_per_cluster,
            embiggen_factor=embiggen_factor,
        )
    beyond.write_json(
        args.output,
        {
            "centroids": centroids.numpy().tolist(),
            "nearest_indices": nearest_indices.numpy().tolist(),
            "inertia": inertias,
            "iterations": n_run,
            "converged": bool(converged),
            "true_centroids": None if true_centroids is None else true_centroids.tolist(),
            "settings": settings,
        },
    )
    print(f"Results written to {args.output}")

sample_values = np.asarray(samples)
if args.animate is not None:
    beyond.animate(
        args.animate,
        sample_values,
        centroid_history,
        index_history,
        [starting_inertia, *inertias],
        true_centroids,
    )
    print(f"Animation written to {args.animate} ({len(centroid_history)} frames)")

figure = beyond.plot_result(
    sample_values,
    centroids.numpy(),
    nearest_indices.numpy(),
    inertias,
    true_centroids,
    title=f"k-means after {n_run} iterations ({args.init} start)",
)
show_or_save(figure, args.save, __file__)
