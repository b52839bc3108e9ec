"""tfkmeans.lesson_blobs: the lesson's create_samples, outside the lesson."""

import numpy as np

from functions import create_samples
from tfkmeans import lesson_blobs


def test_lesson_blobs_are_the_lessons_samples():
    for arguments in [(3, 500, 2, 70, 700), (5, 20, 4, 10.0, 3)]:
        centres, samples = lesson_blobs(*arguments)
        expected_centres, expected_samples = create_samples(*arguments)
        np.testing.assert_array_equal(centres, expected_centres.numpy())
        np.testing.assert_array_equal(samples, expected_samples.numpy())
        assert samples.dtype == np.float32
