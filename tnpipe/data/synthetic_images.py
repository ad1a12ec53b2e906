"""Learnable, deterministic image stand-ins shared by the image datasets' `write_synthetic`.

Every class c has a prototype picture P_c (size x size x 3, float): a base colour, plus an
oriented sinusoidal grating in a second colour, plus a Gaussian blob at a class-specific
place in a third colour,

    P_c(y, x) = base_c + A * cos(2 pi f_c (x cos t_c + y sin t_c) / size + phi_c) * col_c
                       + B * exp(-((x - bx_c)^2 + (y - by_c)^2) / (2 r_c^2))   * blob_c

with every parameter drawn from numpy RandomState(seed). A sample of class c is P_c
shifted by up to +-2 pixels, brightened by a common offset in [-15, 15] and given
Gaussian pixel noise (sd 20), then clipped to uint8. Classes therefore differ in colour,
orientation, frequency and blob position, which a small convolutional network (or even a
nearest-class-mean classifier) separates far above chance, while the noise keeps the task
from being trivial. The dataset modules then write these pictures in their official
formats (pickles, .mat, ppm + csv, jpg + boxes) and read them back through the normal
readers.
"""

from __future__ import annotations

import numpy as np

SHIFT = 2          # max translation (pixels) of a sample against its prototype
NOISE_SD = 20.0    # Gaussian pixel noise
BRIGHTNESS = 15.0  # max common brightness offset


def prototypes(num_classes: int, size: int, seed: int) -> np.ndarray:
    """(num_classes, size, size, 3) float32 class prototypes (see the module docstring)."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = np.empty((num_classes, size, size, 3), np.float32)
    for c in range(num_classes):
        base = rng.uniform(50, 170, 3)
        col = rng.uniform(-1, 1, 3)
        blob = rng.uniform(-1, 1, 3)
        t = rng.uniform(0, np.pi)
        f = rng.uniform(1.0, 4.0)
        phi = rng.uniform(0, 2 * np.pi)
        bx, by = rng.uniform(0.2 * size, 0.8 * size, 2)
        r = rng.uniform(0.1 * size, 0.2 * size)
        grating = np.cos(2 * np.pi * f * (xx * np.cos(t) + yy * np.sin(t)) / size + phi)
        spot = np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * r * r))
        out[c] = base + 50 * grating[..., None] * col + 80 * spot[..., None] * blob
    return out


def samples(protos: np.ndarray, per_class: int, seed: int, shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` noisy samples of each prototype -> (x uint8 NHWC, y int64).

    Unshuffled, the order is class 0's samples, then class 1's, ...; shuffled (as the
    official CIFAR batches are), a RandomState(seed) permutation of that."""
    rng = np.random.RandomState(seed)
    n_cls, size = protos.shape[0], protos.shape[1]
    x = np.empty((n_cls * per_class, size, size, 3), np.uint8)
    y = np.repeat(np.arange(n_cls, dtype=np.int64), per_class)
    for i, c in enumerate(y):
        dy, dx = rng.randint(-SHIFT, SHIFT + 1, 2)
        im = np.roll(protos[c], (dy, dx), axis=(0, 1))
        im = im + rng.uniform(-BRIGHTNESS, BRIGHTNESS) + rng.normal(0, NOISE_SD, im.shape)
        x[i] = np.clip(np.rint(im), 0, 255).astype(np.uint8)
    if shuffle:
        order = rng.permutation(len(y))
        x, y = x[order], y[order]
    return x, y


def split(num_classes: int, train_per_class: int, test_per_class: int, seed: int, size: int = 32,
          shuffle: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train and test samples of the same prototypes (different noise): x_tr, y_tr, x_te, y_te."""
    protos = prototypes(num_classes, size, seed)
    x_tr, y_tr = samples(protos, train_per_class, seed + 1, shuffle)
    x_te, y_te = samples(protos, test_per_class, seed + 2, shuffle)
    return x_tr, y_tr, x_te, y_te


def embed(patch: np.ndarray, rng: np.random.RandomState, margin: tuple[int, int] = (2, 10),
          scale: tuple[float, float] = (1.0, 1.6)) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Put `patch` (a sample) into a larger noisy scene, as a sign in a photo.

    The patch is resized by a random factor in `scale`, placed with a random margin of
    `margin` pixels on each side over a grey noise background; returns the scene and the
    patch's INCLUSIVE box (x1, y1, x2, y2), the convention of GTSRB's Roi columns."""
    from PIL import Image

    side = int(round(patch.shape[0] * rng.uniform(*scale)))
    big = np.asarray(Image.fromarray(patch).resize((side, side), Image.BILINEAR))
    left, right, top, bottom = rng.randint(margin[0], margin[1] + 1, 4)
    h, w = top + side + bottom, left + side + right
    scene = np.clip(rng.normal(110, 35, (h, w, 3)), 0, 255).astype(np.uint8)
    scene[top:top + side, left:left + side] = big
    return scene, (int(left), int(top), int(left + side - 1), int(top + side - 1))


def nearest_mean_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> float:
    """Accuracy of a nearest-class-mean classifier on raw pixels: a quick learnability check."""
    xt = x_train.reshape(len(x_train), -1).astype(np.float32)
    classes = np.unique(y_train)
    means = np.stack([xt[y_train == c].mean(0) for c in classes])
    xe = x_test.reshape(len(x_test), -1).astype(np.float32)
    d = (xe ** 2).sum(1)[:, None] - 2 * xe @ means.T + (means ** 2).sum(1)[None]
    return float((classes[d.argmin(1)] == y_test).mean())
