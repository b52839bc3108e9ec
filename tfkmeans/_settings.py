"""What the three parts of the ``tfkmeans`` command share: the checked ``Settings`` that
parsing (``cli``) hands to running (``_command``), which hands results to reporting
(``_report``), and the error any of them raises for a problem with the command line or its
data. Below all three, so that none imports back up."""

import dataclasses

PROG = "tfkmeans"


class UsageError(Exception):
    """A problem with the command line or its data: one line on stderr, exit status 2."""


@dataclasses.dataclass
class Settings:
    """A checked command line: what to cluster, how, and where the results go."""

    data: str = None
    columns: list = None
    delimiter: str = None
    decimal: str = "."
    encoding: str = "utf-8"
    missing: str = "error"
    na_values: list = None
    standardize: bool = False
    streaming: bool = False
    n_clusters: object = 3  # an int, or a range of them (a sweep)
    init: str = "random"
    metric: str = "euclidean"  # or "cosine": spherical k-means on rows of unit length
    n_init: int = 1
    seed: int = 700
    iterations: int = 10
    tolerance: float = None
    output: str = None
    labels: str = None
    save: str = None
    animate: str = None
    plot_columns: list = None
    verbosity: int = 1  # 0 quiet, 1 normal, 2 verbose
    generation: dict = None  # the lesson's blobs' settings, without --data
    true_labels: str = None  # a column of the table to compare the clusters with
    checkpoint: str = None  # a directory where a streamed run saves every iteration, and goes on from

    @property
    def sweep(self):
        return isinstance(self.n_clusters, range)

    @property
    def largest_k(self):
        return self.n_clusters[-1] if self.sweep else self.n_clusters  # max() would walk the whole range
