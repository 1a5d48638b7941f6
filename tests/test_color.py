import numpy as np
import pytest

from common.color import deprocess_lab, lab_to_rgb, preprocess_lab, rgb_to_lab


@pytest.mark.parametrize("rgb,lab", [
    ((1, 1, 1), (100, 0, 0)),
    ((1, 0, 0), (53.24, 80.09, 67.20)),
    ((0, 0, 1), (32.30, 79.19, -107.86)),
    ((0.5, 0.5, 0.5), (53.39, 0, 0)),
])
def test_cie_reference_values(rgb, lab):
    got = np.asarray(rgb_to_lab(np.array(rgb, np.float32)))
    assert got.shape == (3,)
    np.testing.assert_allclose(got, lab, atol=0.02)


def test_round_trip_batched_4d():
    rgb = np.random.default_rng(0).random((2, 8, 9, 3), dtype=np.float32)
    back = np.asarray(lab_to_rgb(rgb_to_lab(rgb)))
    assert back.shape == rgb.shape
    assert np.abs(back - rgb).max() < 1e-3


def test_round_trip_single_3d_image():
    rgb = np.random.default_rng(1).random((5, 4, 3), dtype=np.float32)
    assert np.abs(np.asarray(lab_to_rgb(rgb_to_lab(rgb))) - rgb).max() < 1e-3


def test_preprocess_deprocess_lab():
    lab = np.array([[[100.0, 110.0, -110.0], [0.0, 0.0, 55.0]]], np.float32)
    l_chan, ab = preprocess_lab(lab)
    np.testing.assert_allclose(np.asarray(l_chan)[..., 0], [[1.0, -1.0]])
    np.testing.assert_allclose(np.asarray(ab), [[[1.0, -1.0], [0.0, 0.5]]])
    np.testing.assert_allclose(np.asarray(deprocess_lab(l_chan, ab)), lab, atol=1e-4)
