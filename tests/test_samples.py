"""tfkmeans._samples, the host data layer: samples shifted into aligned tensors, in the dtype the policy says."""

import numpy as np
import pytest

from tfkmeans import _samples


@pytest.mark.parametrize("n_features", [1, 2, 3, 16, 70])  # narrow rows are subtracted several to a line
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
def test_centred_data_is_the_data_minus_the_offset(n_features, dtype, order):
    rng = np.random.default_rng(n_features)
    samples = np.asarray(rng.normal(50.0, 3.0, size=(1_001, n_features)), dtype=dtype, order=order)  # 1,001: rows over
    tensor, offset = _samples.centred(samples)
    assert tensor.dtype.as_numpy_dtype == dtype and offset.dtype == dtype
    # Fewer than 2 x OFFSET_SAMPLE rows: the offset is the mean of them all.
    np.testing.assert_allclose(offset, samples.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(tensor.numpy(), samples - offset)
    given = np.arange(n_features, dtype=dtype)
    tensor, offset = _samples.centred(samples, given)
    np.testing.assert_array_equal(offset, given)
    np.testing.assert_array_equal(tensor.numpy(), samples - given)


def test_the_offset_of_many_samples_lies_near_their_mean():
    """Beyond 2 x OFFSET_SAMPLE rows the offset is the mean of a strided sample: near the mean,
    not at it, which keeps the precision (the results do not depend on it)."""
    rng = np.random.default_rng(1)
    samples = rng.normal([1e4, -5.0], [2.0, 0.5], size=(100_003, 2)).astype(np.float32)
    _, offset = _samples.centred(samples)
    assert np.all(np.abs(offset - samples.mean(axis=0, dtype=np.float64)) < 0.1 * samples.std(axis=0))


@pytest.mark.parametrize("shape", [(1, 1), (7, 3), (1_000, 64)])
def test_aligned_buffers_start_on_64_byte_boundaries(shape):
    for _ in range(5):  # several allocations, so that at least one did not come aligned by chance
        array = _samples._aligned_empty(shape, np.float32)
        assert array.shape == shape and array.flags.c_contiguous and array.ctypes.data % 64 == 0
