"""Keras architectures for the face mood model (Keras only: they train on any Keras backend).

Every network takes a (48, 48, 1) grey face with pixel values in [0, 255] and returns 7 softmax
probabilities (order: :data:`moosic_core.mood.emotions.EMOTIONS`). Normalisation is part of the
model, so the exported artifact is fed raw grey pixels.

- ``compact``: this project's network (VGG-like blocks with batch norm, global average pooling);
  ``compact_wide`` is the same at twice the width.
- ``fullres``: VGG-like blocks from the full 48 px (no space-to-depth stem), as the networks
  that read FER-2013 best in the literature; ``fullres_wide`` has their widths (64 to 512).
- ``vgg16_style``, ``inception_v3_style``, ``mobilenet_v2_style``: the three families the original
  fine-tuned, rebuilt from scratch at a width that trains on a CPU (no ImageNet weights here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import layers, ops

INPUT_SHAPE = (48, 48, 1)
N_CLASSES = 7


def _inputs() -> tuple[Any, Any]:
    inp = keras.Input(shape=INPUT_SHAPE, name="face")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="normalise")(inp)
    return inp, x


def space_to_depth(t: Any, block: int = 2) -> Any:
    """Each ``block`` x ``block`` patch of pixels becomes one pixel with ``block**2`` times the
    channels, in ``tf.nn.space_to_depth``'s order (channel ``(dy * block + dx) * C + c``)."""
    _, h, w, c = t.shape
    t = ops.reshape(t, (-1, h // block, block, w // block, block, c))
    t = ops.transpose(t, (0, 1, 3, 2, 4, 5))
    return ops.reshape(t, (-1, h // block, w // block, block * block * c))


def _conv_bn(x: Any, filters: int, kernel: int = 3, strides: int = 1, name: str = "") -> Any:
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False,
                      name=f"{name}_conv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _vgg_blocks(x: Any, widths: tuple[int, ...]) -> Any:
    """Per width, two 3x3 conv + BN + ReLU, then 2x2 max-pooling (layers ``b<i>a``, ``b<i>b``,
    ``b<i>_pool``)."""
    for b, w in enumerate(widths):
        x = _conv_bn(x, w, name=f"b{b}a")
        x = _conv_bn(x, w, name=f"b{b}b")
        x = layers.MaxPooling2D(2, name=f"b{b}_pool")(x)
    return x


def _head(inp: Any, x: Any, name: str, dropout: float = 0.3) -> keras.Model:
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    out = layers.Dense(N_CLASSES, activation="softmax", name="emotions")(x)
    return keras.Model(inp, out, name=name)


def compact(widths: tuple[int, ...] = (48, 96, 192), stem: int = 32, dropout: float = 0.4,
            name: str = "compact") -> keras.Model:
    """A space-to-depth stem (48x48x1 -> 24x24x4, lossless, then one 3x3 conv), then blocks of
    two 3x3 conv + BN + ReLU, each followed by 2x2 max-pooling (24 -> 3 px), global average
    pooling and a softmax. The stem avoids costly full-resolution layers on a CPU."""
    inp, x = _inputs()
    x = layers.Lambda(space_to_depth, output_shape=(24, 24, 4),
                      name="space_to_depth")(x)
    x = _conv_bn(x, stem, name="stem")
    return _head(inp, _vgg_blocks(x, widths), name, dropout)


def compact_wide() -> keras.Model:
    """The compact network at twice the width (stem 64; blocks of 96, 192, 384 channels):
    about 4x the parameters and 3x the training time, for the stronger ensemble members."""
    return compact(widths=(96, 192, 384), stem=64, name="compact_wide")


def fullres(widths: tuple[int, ...] = (32, 64, 128, 256), dropout: float = 0.4,
            name: str = "fullres") -> keras.Model:
    """Four blocks of two 3x3 conv + BN + ReLU, each followed by 2x2 max-pooling (48 -> 3 px),
    from the full-resolution face; global average pooling and a softmax."""
    inp, x = _inputs()
    return _head(inp, _vgg_blocks(x, widths), name, dropout)


def fullres_wide() -> keras.Model:
    """The full-resolution network at twice the width (64, 128, 256, 512 channels): the
    layout of the VGG networks reported at about 73 % on FER-2013's 7 classes."""
    return fullres(widths=(64, 128, 256, 512), name="fullres_wide")


def vgg16_style(width: int = 16) -> keras.Model:
    """VGG16's 2-2-3-3-3 layout of 3x3 convs and 5 poolings, at 1/4 of VGG16's widths."""
    inp, x = _inputs()
    plan = ((2, 4), (2, 8), (3, 16), (3, 32), (3, 32))  # (convs, width / 16 * width)
    for b, (n, mult) in enumerate(plan):
        for i in range(n):
            x = _conv_bn(x, width * mult // 4, name=f"vgg{b}_{i}")
        x = layers.MaxPooling2D(2, padding="same", name=f"vgg{b}_pool")(x)
    return _head(inp, x, "vgg16_style")


def _inception_block(x: Any, f: int, name: str) -> Any:
    b1 = _conv_bn(x, f, 1, name=f"{name}_1x1")
    b3 = _conv_bn(_conv_bn(x, f, 1, name=f"{name}_3r"), f, 3, name=f"{name}_3x3")
    b5 = _conv_bn(x, f // 2, 1, name=f"{name}_5r")
    b5 = _conv_bn(_conv_bn(b5, f, 3, name=f"{name}_5a"), f, 3, name=f"{name}_5b")
    bp = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    bp = _conv_bn(bp, f // 2, 1, name=f"{name}_pp")
    return layers.Concatenate(name=f"{name}_cat")([b1, b3, b5, bp])


def _inception_reduce(x: Any, f: int, name: str) -> Any:
    b3 = _conv_bn(x, f, 3, strides=2, name=f"{name}_3x3")
    bd = _conv_bn(_conv_bn(x, f // 2, 1, name=f"{name}_dr"), f, 3, name=f"{name}_da")
    bd = _conv_bn(bd, f, 3, strides=2, name=f"{name}_db")
    bp = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    return layers.Concatenate(name=f"{name}_cat")([b3, bd, bp])


def inception_v3_style(width: int = 16) -> keras.Model:
    """InceptionV3's ideas (parallel 1x1 / 3x3 / factorised 5x5 / pool branches, grid
    reduction blocks), three stages, from a 48 px input."""
    inp, x = _inputs()
    x = _conv_bn(x, width, name="stem1")
    x = _conv_bn(x, width, name="stem2")
    x = layers.MaxPooling2D(2, name="stem_pool")(x)  # 24
    x = _inception_block(x, width, "mixA")
    x = _inception_reduce(x, width * 2, "redA")  # 12
    x = _inception_block(x, width * 2, "mixB")
    x = _inception_reduce(x, width * 3, "redB")  # 6
    x = _inception_block(x, width * 3, "mixC")
    return _head(inp, x, "inception_v3_style")


def mobilenet_v2_style(alpha: float = 0.5) -> keras.Model:
    """Keras' own MobileNetV2 (inverted residuals, linear bottlenecks), untrained (weights=None),
    on the 48 px input (its last feature map is 2x2)."""
    inp, x = _inputs()
    base = keras.applications.MobileNetV2(input_shape=INPUT_SHAPE, alpha=alpha,
                                          include_top=False, weights=None)
    for layer in base.layers:  # Keras' default 0.999 leaves the moving statistics at their
        if isinstance(layer, layers.BatchNormalization):  # initial values in a short run
            layer.momentum = 0.99
    x = base(x)
    return _head(inp, x, "mobilenet_v2_style")


ARCHITECTURES: dict[str, Callable[[], keras.Model]] = {
    "compact": compact,
    "compact_wide": compact_wide,
    "fullres": fullres,
    "fullres_wide": fullres_wide,
    "vgg16_style": vgg16_style,
    "inception_v3_style": inception_v3_style,
    "mobilenet_v2_style": mobilenet_v2_style,
}
