"""sRGB <-> CIE Lab as tensor ops with pix2pix-tensorflow's constants (D65, sRGB companding).

Ports pix2pix.py's rgb_to_lab / lab_to_rgb / preprocess_lab / deprocess_lab (from Torch image.c).
"""
from keras import ops

_RGB_TO_XYZ = [[0.412453, 0.212671, 0.019334],
               [0.357580, 0.715160, 0.119193],
               [0.180423, 0.072169, 0.950227]]
_XYZ_TO_RGB = [[3.2404542, -0.9692660, 0.0556434],
               [-1.5371385, 1.8760108, -0.2040259],
               [-0.4985314, 0.0415560, 1.0572252]]
_D65 = [0.950456, 1.0, 1.088754]
_EPSILON = 6.0 / 29.0


def _pixels(image):
    """Flatten any [..., 3] tensor to [N, 3], remembering the shape to restore."""
    image = ops.convert_to_tensor(image, dtype="float32")
    return ops.reshape(image, (-1, 3)), ops.shape(image)


def rgb_to_lab(srgb):
    """sRGB in [0, 1] (any shape ending in 3) -> Lab with L in [0, 100]."""
    pixels, shape = _pixels(srgb)
    linear = ops.where(pixels <= 0.04045, pixels / 12.92,
                       ops.power((ops.maximum(pixels, 0.04045) + 0.055) / 1.055, 2.4))
    xyz = ops.matmul(linear, ops.convert_to_tensor(_RGB_TO_XYZ)) / ops.convert_to_tensor(_D65)
    f = ops.where(xyz > _EPSILON ** 3,
                  ops.power(ops.maximum(xyz, _EPSILON ** 3), 1.0 / 3.0),
                  xyz / (3 * _EPSILON ** 2) + 4.0 / 29.0)
    fx, fy, fz = f[:, 0], f[:, 1], f[:, 2]
    lab = ops.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=1)
    return ops.reshape(lab, shape)


def lab_to_rgb(lab):
    """Lab with L in [0, 100] (any shape ending in 3) -> sRGB clipped to [0, 1]."""
    pixels, shape = _pixels(lab)
    fy = (pixels[:, 0] + 16.0) / 116.0
    f = ops.stack([fy + pixels[:, 1] / 500.0, fy, fy - pixels[:, 2] / 200.0], axis=1)
    xyz = ops.where(f > _EPSILON, ops.power(f, 3.0), 3 * _EPSILON ** 2 * (f - 4.0 / 29.0))
    linear = ops.matmul(xyz * ops.convert_to_tensor(_D65), ops.convert_to_tensor(_XYZ_TO_RGB))
    linear = ops.clip(linear, 0.0, 1.0)
    srgb = ops.where(linear <= 0.0031308, linear * 12.92,
                     1.055 * ops.power(ops.maximum(linear, 0.0031308), 1.0 / 2.4) - 0.055)
    return ops.reshape(srgb, shape)


def preprocess_lab(lab):
    """Lab -> (L in [-1, 1], ab in about [-1, 1]): L / 50 - 1 and ab / 110, as pix2pix."""
    lab = ops.convert_to_tensor(lab, dtype="float32")
    return lab[..., 0:1] / 50.0 - 1.0, lab[..., 1:3] / 110.0


def deprocess_lab(l_chan, ab):
    """Inverse of preprocess_lab: L = (L + 1) / 2 * 100, ab * 110, stacked on the last axis."""
    return ops.concatenate([(l_chan + 1.0) / 2.0 * 100.0, ab * 110.0], axis=-1)
