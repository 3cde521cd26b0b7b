"""Built-in synthetic tracking sequences: procedurally rendered, deterministic from a seed, no download.

Each sequence has a textured background that pans slowly, a textured target whose shape, size and aspect
change over time, look-alike distractors with the same kind of texture, and, depending on the seed, an
occluder that crosses the target, stretches out of view, illumination change and motion blur. Frames are
rendered on demand from a few small precomputed textures, so a sequence costs almost no memory.

Ground truth is the target's bounding box clipped to the frame; a frame where less than 10% of the target
is visible (hidden by the occluder or outside the frame) is marked not visible and its box is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edgetrack.data.sequence import Sequence
from edgetrack.errors import DataError
from edgetrack.registry import suggest

FRAME_SIZE = (240, 320)  # H, W
TEST_SEED_BASE = 1_000_000  # test seeds never overlap training seeds (0 .. N-1)
SPLITS = ("synthetic-train", "synthetic-test")
MIN_VISIBLE = 0.1  # below this share of its pixels in view the target counts as absent
PARTIAL_OCCLUSION = 0.3  # share of the in-frame target under the occluder that flags 'occlusion'


def _texture(rng: np.random.Generator, h: int, w: int, base: np.ndarray, cell: int = 8) -> np.ndarray:
    """A float32 RGB texture: smooth colour noise (one random colour per `cell` pixels) plus a pattern."""
    low = rng.uniform(-60, 60, (max(2, h // cell), max(2, w // cell), 3)).astype(np.float32)
    tex = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC) + base.astype(np.float32)
    kind = rng.integers(3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = rng.uniform(4, 14)
    if kind == 0:
        angle = rng.uniform(0, np.pi)
        pattern = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    elif kind == 1:
        pattern = np.sign(np.sin(xx * 2 * np.pi / period) * np.sin(yy * 2 * np.pi / period))
    else:
        pattern = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 1.5) * 2
    tex += pattern[..., None] * rng.uniform(20, 50) * rng.uniform(0.5, 1.0, 3).astype(np.float32)
    return np.clip(tex, 0, 255)


def _trajectory(rng: np.random.Generator, n: int, start: np.ndarray, speed: float, bounds: np.ndarray,
                mode: int) -> np.ndarray:
    """(n, 2) centre positions: smooth random walk with momentum, bouncing inside `bounds` (x0, y0, x1, y1)."""
    pos, vel = start.astype(np.float64).copy(), rng.standard_normal(2) * speed
    out = np.zeros((n, 2))
    phase, freq = rng.uniform(0, 2 * np.pi, 2), rng.uniform(0.02, 0.08, 2)
    for i in range(n):
        out[i] = pos
        if mode == 0:  # momentum random walk
            vel = 0.9 * vel + rng.standard_normal(2) * speed * 0.45
        else:  # sinusoidal sweep with jitter
            vel = speed * 1.5 * np.cos(phase + freq * i) + rng.standard_normal(2) * speed * 0.2
        pos = pos + vel
        for k in range(2):
            lo, hi = bounds[k], bounds[k + 2]
            if pos[k] < lo or pos[k] > hi:
                vel[k] = -vel[k]
                pos[k] = np.clip(pos[k], lo, hi)
    return out


@dataclass
class _Object:
    texture: np.ndarray  # float32 (th, tw, 3) at base size
    ellipse: bool
    centres: np.ndarray  # (n, 2)
    sizes: np.ndarray  # (n, 2) w, h


def _shape_mask(w: int, h: int, ellipse: bool) -> np.ndarray:
    if not ellipse:
        return np.ones((h, w), dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return ((((xx + 0.5) / w - 0.5) ** 2 + ((yy + 0.5) / h - 0.5) ** 2) <= 0.25).astype(np.float32)


def _object_layer(obj: _Object, i: int, blur: int, axis: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The object's pixels and mask at frame i, and its integer top-left corner."""
    w, h = (max(4, int(round(v))) for v in obj.sizes[i])
    pix = cv2.resize(obj.texture, (w, h), interpolation=cv2.INTER_LINEAR)
    mask = _shape_mask(w, h, obj.ellipse)
    if blur > 1:
        k = (blur, 1) if axis == 0 else (1, blur)
        pix, mask = cv2.blur(pix, k), cv2.blur(mask, k)
    x0 = int(round(obj.centres[i, 0] - w / 2))
    y0 = int(round(obj.centres[i, 1] - h / 2))
    return pix, mask, x0, y0


def _paste(canvas: np.ndarray, pix: np.ndarray, mask: np.ndarray, x0: int, y0: int) -> np.ndarray:
    """Alpha-blend `pix` into `canvas` at (x0, y0); return the visible part of the mask in frame coordinates."""
    H, W = canvas.shape[:2]
    h, w = mask.shape
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, W), min(y0 + h, H)
    full = np.zeros((H, W), dtype=np.float32)
    if xa >= xb or ya >= yb:
        return full
    m = mask[ya - y0:yb - y0, xa - x0:xb - x0]
    region = canvas[ya:yb, xa:xb]
    region[:] = region * (1 - m[..., None]) + pix[ya - y0:yb - y0, xa - x0:xb - x0] * m[..., None]
    full[ya:yb, xa:xb] = m
    return full


class _Scene:
    """All per-sequence state; `render(i)` draws frame i."""

    def __init__(self, seed: int, length: int, size: tuple[int, int]) -> None:
        rng = np.random.default_rng(seed)
        self.H, self.W = size
        self.n = length
        self.attributes: dict[str, object] = {}
        self.background = _texture(rng, self.H + 64, self.W + 64, rng.uniform(40, 200, 3), cell=24)
        self.pan = _trajectory(rng, length, np.array([32.0, 32.0]), 0.6, np.array([0, 0, 64, 64]), 0)
        self._make_target(rng)
        self._make_distractors(rng)
        self._make_occluder(rng)
        self._make_effects(rng)

    def _sizes(self, rng: np.random.Generator, base: float) -> np.ndarray:
        t = np.arange(self.n)
        scale = np.exp(rng.uniform(0.1, 0.5) * np.sin(2 * np.pi * t / rng.uniform(60, 200) + rng.uniform(0, 6)))
        aspect = rng.uniform(0.5, 2.0) * np.exp(rng.uniform(0.0, 0.3) * np.sin(2 * np.pi * t / rng.uniform(50, 150)))
        w = base * scale * np.sqrt(aspect)
        return np.stack([w, w / aspect], axis=1)

    def _make_target(self, rng: np.random.Generator) -> None:
        base = rng.uniform(22, 60)
        self.colour = rng.uniform(30, 230, 3)
        sizes = self._sizes(rng, base)
        margin = 0.9 * base if rng.random() < 0.25 else -0.6 * base  # some targets leave the frame
        bounds = np.array([-margin, -margin, self.W + margin, self.H + margin])
        start = np.array([rng.uniform(0.25, 0.75) * self.W, rng.uniform(0.25, 0.75) * self.H])
        speed = rng.uniform(1.0, 5.0)
        self.speed = speed
        centres = _trajectory(rng, self.n, start, speed, bounds, int(rng.integers(2)))
        self.target = _Object(_texture(rng, 48, 48, self.colour), bool(rng.integers(2)), centres, sizes)
        self.attributes.update(scale_change=bool(np.ptp(np.sqrt(sizes.prod(1))) > 0.5 * base),
                               fast_motion=bool(speed > 3.5))

    def _make_distractors(self, rng: np.random.Generator) -> None:
        self.distractors = []
        for _ in range(int(rng.integers(1, 4))):
            colour = np.clip(self.colour + rng.normal(0, 15, 3), 0, 255)
            centres = _trajectory(rng, self.n, rng.uniform([0, 0], [self.W, self.H]), rng.uniform(1, 4),
                                  np.array([0, 0, self.W, self.H]), int(rng.integers(2)))
            sizes = self._sizes(rng, rng.uniform(20, 55))
            self.distractors.append(_Object(_texture(rng, 48, 48, colour), bool(rng.integers(2)), centres, sizes))
        self.attributes["distractors"] = True

    def _make_occluder(self, rng: np.random.Generator) -> None:
        self.occluder = None
        if rng.random() < 0.5:
            return
        t0 = int(rng.integers(self.n // 4, max(self.n // 4 + 1, self.n - 30)))
        dur = int(rng.integers(12, 40))
        w, h = rng.uniform(60, 110), rng.uniform(60, 110)
        # the occluder passes over where the target will be in the middle of the window
        mid = self.target.centres[min(t0 + dur // 2, self.n - 1)]
        direction = rng.choice([-1.0, 1.0])
        xs = mid[0] + direction * np.linspace(-1.5, 1.5, dur) * w
        centres = np.full((self.n, 2), -1000.0)
        centres[t0:t0 + dur] = np.stack([xs, np.full(dur, mid[1])], axis=1)[: self.n - t0]
        tex = _texture(rng, 48, 48, rng.uniform(40, 200, 3))
        self.occluder = _Object(tex, False, centres, np.tile([w, h], (self.n, 1)))

    def _make_effects(self, rng: np.random.Generator) -> None:
        t = np.arange(self.n)
        amp = rng.uniform(0.2, 0.5) if rng.random() < 0.5 else 0.0
        self.gain = 1 + amp * np.sin(2 * np.pi * t / rng.uniform(40, 120) + rng.uniform(0, 6))
        self.blur = rng.random() < 0.4
        self.attributes["illumination"] = bool(amp > 0)

    def _blur_for(self, obj: _Object, i: int) -> tuple[int, int]:
        if not self.blur or i == 0:
            return 1, 0
        v = obj.centres[i] - obj.centres[i - 1]
        k = int(min(abs(v).max(), 15))
        return (k if k >= 3 else 1), int(abs(v[1]) > abs(v[0]))

    def render(self, i: int, with_target: bool = True) -> tuple[np.ndarray, float, np.ndarray]:
        """Frame i (uint8 RGB), visible fraction of the target, and its visible mask."""
        px, py = (int(round(v)) for v in self.pan[i])
        canvas = self.background[py:py + self.H, px:px + self.W].copy()
        for d in self.distractors:
            _paste(canvas, *_object_layer(d, i, *self._blur_for(d, i)))
        pix, mask, x0, y0 = _object_layer(self.target, i, *self._blur_for(self.target, i))
        seen = _paste(canvas, pix, mask, x0, y0) if with_target else np.zeros((self.H, self.W), np.float32)
        if self.occluder is not None and self.occluder.centres[i, 0] > -999:
            hidden = _paste(canvas, *_object_layer(self.occluder, i, 1, 0))
            seen = seen * (1 - hidden)
        frame = np.clip(canvas * self.gain[i], 0, 255).astype(np.uint8)
        return frame, float(seen.sum() / max(mask.sum(), 1.0)), seen

    def fractions(self, i: int) -> tuple[float, float]:
        """Shares of the target's pixels inside the frame, and inside and not under the occluder (masks only)."""
        canvas = np.zeros((self.H, self.W, 1), dtype=np.float32)
        _, mask, x0, y0 = _object_layer(self.target, i, 1, 0)
        inside = _paste(canvas, mask[..., None], mask, x0, y0)
        seen = inside
        if self.occluder is not None and self.occluder.centres[i, 0] > -999:
            _, occ, ox, oy = _object_layer(self.occluder, i, 1, 0)
            seen = inside * (1 - _paste(canvas, occ[..., None], occ, ox, oy))
        total = max(mask.sum(), 1.0)
        return float(inside.sum() / total), float(seen.sum() / total)

    def ground_truth(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (NaN where absent), visibility, and per-frame (in-frame, unhidden) target fractions (n, 2)."""
        boxes, visible = np.full((self.n, 4), np.nan), np.zeros(self.n, dtype=bool)
        fractions = np.array([self.fractions(i) for i in range(self.n)])
        for i in range(self.n):
            w, h = self.target.sizes[i]
            cx, cy = self.target.centres[i]
            x0, y0 = max(cx - w / 2, 0.0), max(cy - h / 2, 0.0)
            x1, y1 = min(cx + w / 2, self.W), min(cy + h / 2, self.H)
            if fractions[i, 1] >= MIN_VISIBLE and x1 - x0 >= 2 and y1 - y0 >= 2:
                boxes[i], visible[i] = (x0, y0, x1 - x0, y1 - y0), True
        return boxes, visible, fractions

    def blurred_frames(self) -> int:
        """Number of frames where the target is drawn with a motion-blur kernel."""
        return sum(self._blur_for(self.target, i)[0] > 1 for i in range(self.n))


def _settle_first_frame(scene: _Scene) -> None:
    """Keep frame 0 fully visible: move the start of the trajectory inside the frame and the occluder away."""
    w, h = scene.target.sizes[0]
    c = scene.target.centres
    c[0] = np.clip(c[0], [w / 2 + 2, h / 2 + 2], [scene.W - w / 2 - 2, scene.H - h / 2 - 2])
    if scene.occluder is not None:
        scene.occluder.centres[0] = -1000.0


def synthetic_sequence(seed: int, length: int = 150, size: tuple[int, int] = FRAME_SIZE) -> Sequence:
    """One deterministic synthetic sequence; the same seed always gives the same frames and boxes."""
    if length < 2:
        raise DataError(f"a synthetic sequence needs at least 2 frames, not {length}")
    scene = _Scene(seed, length, size)
    _settle_first_frame(scene)
    boxes, visible, fractions = scene.ground_truth()
    scene.attributes.update(_visibility_attributes(fractions, visible))
    scene.attributes["motion_blur"] = scene.blurred_frames() > 0
    scene.attributes["num_distractors"] = len(scene.distractors)
    return Sequence(f"synth-{seed:07d}", lambda i: scene.render(i)[0], boxes, visible, dict(scene.attributes),
                    dataset="synthetic", length=length)


def _visibility_attributes(fractions: np.ndarray, visible: np.ndarray) -> dict[str, object]:
    """Occlusion and out-of-view flags from the per-frame (in-frame, unhidden) fractions of the target."""
    in_frame, unhidden = fractions[:, 0], fractions[:, 1]
    # share of the in-frame part that the occluder covers; frames almost out of view say nothing about it
    hidden = np.where(in_frame >= MIN_VISIBLE, 1 - unhidden / np.maximum(in_frame, 1e-9), 0.0)
    return {
        "occlusion": bool((hidden >= PARTIAL_OCCLUSION).any()),
        "full_occlusion": bool((~visible & (in_frame >= MIN_VISIBLE)).any()),
        "out_of_view": bool((in_frame < MIN_VISIBLE).any()),
        "partial_out_of_view": bool(((in_frame < 0.999) & (in_frame >= MIN_VISIBLE)).any()),
        "visible_fraction": unhidden.astype(np.float32),  # per frame, like GOT-10k's cover labels
    }


def synthetic_split(name: str, num_sequences: int | None = None, length: int | None = None) -> list[Sequence]:
    """`synthetic-train` (seeds 0..N-1, default 200 x 100 frames) or `synthetic-test` (fixed 50 x 150)."""
    if name == "synthetic-test":
        if num_sequences is not None or length is not None:
            # a resized benchmark would report scores that cannot be compared with anyone else's
            raise DataError("synthetic-test is fixed (50 sequences x 150 frames); drop num_sequences/length, or "
                            "use synthetic-train for another size")
        return [synthetic_sequence(TEST_SEED_BASE + i, 150) for i in range(50)]
    if name == "synthetic-train":
        num_sequences = 200 if num_sequences is None else num_sequences
        if not 0 < num_sequences <= TEST_SEED_BASE:
            raise DataError(f"synthetic-train takes 1 to {TEST_SEED_BASE} sequences (its seeds stay below the "
                            f"test seeds), not {num_sequences}")
        return [synthetic_sequence(i, 100 if length is None else length) for i in range(num_sequences)]
    raise DataError(f"unknown synthetic split '{name}'.{suggest(name, list(SPLITS))} Known: {', '.join(SPLITS)}")


def static_baseline(seq: Sequence) -> np.ndarray:
    """The 'box stays where it started' tracker: the first box repeated for every frame."""
    return np.tile(seq.boxes[0], (len(seq), 1))
