"""Tests of vae_utils.gif: frames are uint8, and the GIF read back has what was written."""

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image

from vae_utils.gif import add_caption, bounce, hstack_frames, images_to_frame, save_gif, to_uint8


def _frames(t=6, h=12, w=10):
    """t distinct grey frames (Pillow would merge identical neighbours)."""
    return [np.full((h, w), 30 * i, np.uint8) for i in range(t)]


def test_to_uint8_maps_unit_interval_and_rejects_logits():
    x = torch.tensor([0.0, 0.5, 1.0])
    assert to_uint8(x, invert=False).tolist() == [0, 128, 255]
    assert to_uint8(x).tolist() == [255, 128, 0]  # ink dark on white
    assert to_uint8(x).dtype == np.uint8
    with pytest.raises(ValueError, match="sigmoid"):
        to_uint8(torch.tensor([-2.0, 3.0]))
    # 5 grey levels: 0, 63.75, 127.5, 191.25, 255 -> rounded; 0.3 snaps to the 0.25 level.
    assert to_uint8(torch.tensor([0.0, 0.3, 0.5, 1.0]), invert=False, levels=5).tolist() == \
        [0, 64, 128, 255]
    assert len(np.unique(to_uint8(torch.rand(1000), levels=16))) <= 16
    with pytest.raises(ValueError, match="levels"):
        to_uint8(x, levels=1)


def test_images_to_frame_layout_and_scale():
    x = torch.zeros(6, 1, 28, 28)
    x[1] = 1.0
    frame = images_to_frame(x, nrow=3, padding=2, scale=2)
    assert frame.dtype == np.uint8
    assert frame.shape == (2 * (2 * 30 + 2), 2 * (3 * 30 + 2))
    # Image 1 (row 0, column 1) is all ink -> black; image 0 is blank -> white.
    assert frame[2 * 10, 2 * (30 + 10)] == 0 and frame[2 * 10, 2 * 10] == 255
    with pytest.raises(ValueError):
        images_to_frame(torch.zeros(2, 28, 28))


def test_bounce_plays_forward_then_back_without_repeats():
    seq = bounce([0, 1, 2, 3])
    assert seq == [0, 1, 2, 3, 2, 1]
    looped = seq + seq
    assert all(a != b for a, b in zip(looped, looped[1:]))


def test_hstack_and_caption_shapes():
    a, b = np.zeros((4, 3), np.uint8), np.zeros((6, 5), np.uint8)
    out = hstack_frames(a, b, gap=2)
    assert out.shape == (6, 10) and out[5, 0] == 255 and out[0, 3] == 255
    captioned = add_caption(b, "VAE", height=16)
    assert captioned.shape == (22, 5) and captioned.dtype == np.uint8
    assert (captioned[16:] == b).all()


def test_save_gif_read_back_frames_duration_and_loop(tmp_path):
    frames = bounce(_frames(6))
    path = save_gif(frames, tmp_path / "x.gif", duration=80, loop=0)
    assert path.is_file()
    back = iio.imread(path, index=None, plugin="pillow")
    assert back.shape[0] == len(frames) == 10
    # Pixel values survive the palette round trip (grey levels are exact).
    assert [int(f[0, 0, 0]) if f.ndim == 3 else int(f[0, 0]) for f in back] == \
        [int(f[0, 0]) for f in frames]
    with Image.open(path) as im:
        assert im.n_frames == 10
        assert im.info["loop"] == 0  # 0 = loop forever
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
    assert durations == [80] * 10


def test_save_gif_per_frame_durations_and_plain_name_goes_to_figures(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_FIGURES_DIR", str(tmp_path / "figs"))
    path = save_gif(_frames(4), "t.gif", duration=[100, 100, 100, 1000], loop=2)
    assert path == tmp_path / "figs" / "t.gif"
    with Image.open(path) as im:
        assert im.info["loop"] == 2
        got = []
        for i in range(im.n_frames):
            im.seek(i)
            got.append(im.info["duration"])
    assert got == [100, 100, 100, 1000]


@pytest.mark.parametrize("bad", [
    dict(frames=[np.zeros((4, 4), np.float32)]),
    dict(frames=[np.zeros((4, 4), np.uint8), np.zeros((5, 4), np.uint8)]),
    dict(frames=[]),
    dict(duration=85),
    dict(duration=10),
    dict(loop=-1),
    dict(path="x.png"),
])
def test_save_gif_rejects_bad_input(tmp_path, bad):
    kwargs = dict(frames=_frames(3), path=tmp_path / "x.gif", duration=80, loop=0)
    kwargs.update(bad)
    if bad.get("path"):
        kwargs["path"] = tmp_path / bad["path"]
    with pytest.raises(ValueError):
        save_gif(**kwargs)


# ---------------------------------------------------------------- bad input
# Bad input: each hostile input either gives the correct result or an error of the
# documented type whose message says what was wrong and how to fix it.


def test_gif_helpers_refuse_bad_arguments(tmp_path):
    frame = images_to_frame(torch.rand(2, 1, 28, 28))
    with pytest.raises(ValueError, match="images_to_frame"):
        hstack_frames(frame, torch.zeros(4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="gap"):
        hstack_frames(frame, frame, gap=-1)
    with pytest.raises(TypeError, match="text"):
        add_caption(frame, 5)
    with pytest.raises(ValueError, match="duration"):
        save_gif([frame, frame], tmp_path / "x.gif", duration=float("nan"))
    with pytest.raises(ValueError, match="unsqueeze"):
        images_to_frame(torch.rand(2, 28, 28))
