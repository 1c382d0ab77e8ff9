"""Images out of the app: decodings as crisp enlarged pixels, a PNG strip, an animated GIF.

Inputs are float images in [0, 1] shaped (H, W) or (N, H, W); outputs are uint8 arrays or
file bytes made with pillow.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


def to_uint8(images: np.ndarray) -> np.ndarray:
    """[0, 1] floats -> uint8 grey levels, rounded."""
    return np.clip(np.rint(np.asarray(images, np.float32) * 255), 0, 255).astype(np.uint8)


def enlarge(images: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement of the last two axes, so each pixel stays a sharp square."""
    return np.asarray(images).repeat(scale, axis=-2).repeat(scale, axis=-1)


def strip(frames: np.ndarray, scale: int = 1) -> np.ndarray:
    """Frames (N, H, W) side by side as one uint8 image (H*scale, N*W*scale)."""
    frames = enlarge(to_uint8(frames), scale)  # (N, H', W')
    return np.concatenate(list(frames), axis=1)


def tile(grid: np.ndarray) -> np.ndarray:
    """A grid of images (R, C, H, W) as one uint8 image (R*H, C*W), row 0 on top."""
    rows, cols, h, w = grid.shape
    return to_uint8(grid).transpose(0, 2, 1, 3).reshape(rows * h, cols * w)


def png(image: np.ndarray) -> bytes:
    """A uint8 grey image (H, W) as PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def strip_png(frames: np.ndarray, scale: int = 3) -> bytes:
    """A PNG of the frames side by side, no gaps: frame i is columns [i*W*scale, (i+1)*W*scale)."""
    return png(strip(frames, scale))


def gif(frames: np.ndarray, scale: int = 4, frame_ms: int = 80, bounce: bool = True) -> bytes:
    """An endlessly looping animated GIF of the frames; `bounce` plays them forward then back."""
    images = enlarge(to_uint8(frames), scale)
    order = list(range(len(images)))
    if bounce and len(order) > 2:
        order += order[-2:0:-1]
    pil = [Image.fromarray(images[i]) for i in order]
    buf = io.BytesIO()
    pil[0].save(buf, format="GIF", save_all=True, append_images=pil[1:], duration=frame_ms, loop=0,
                optimize=False, disposal=1)
    return buf.getvalue()
