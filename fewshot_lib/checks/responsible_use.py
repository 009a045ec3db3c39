"""Notebook 11 · responsible use: the watermark's two building blocks."""
from __future__ import annotations

import cv2
import numpy as np

from ..provenance.watermark import dct_matrix, dither_modulate, dither_votes
from .check import Check, as_float64


def _as_array(x) -> np.ndarray | None:
    """:func:`~.check.as_float64` as a numpy array (None for anything that is not an array or a number)."""
    value = as_float64(x)
    return None if value is None else value.numpy()


def check_dct_matrix(dct_matrix_by_hand) -> None:
    """Exercise 11.1: ``dct_matrix_by_hand(n) → D (n, n)``, the orthonormal DCT-II."""
    with Check("check_dct_matrix",
               "D[k, x] = α_k cos(π (2x + 1) k / 2n), α_0 = √(1/n), α_k = √(2/n): C = D Y Dᵀ is the 2-D DCT",
               hint="row k of D is one cosine sampled at the n pixel centres; build the (n, n) table of k and x, "
                    "then scale: which α makes row 0 (a constant) a unit vector, and which the other rows? "
                    "Check your rows' lengths with D @ D.T") as check:
        for n in (8, 4):
            D = _as_array(dct_matrix_by_hand(n))
            if not check.holds(f"n = {n}: returns an (n, n) array", D is not None and D.shape == (n, n),
                               f"got {None if D is None else D.shape}"):
                return
            check.close(f"n = {n}: orthonormal, D Dᵀ = I (so the inverse is Dᵀ)", D @ D.T, np.eye(n), atol=1e-5)
            check.close(f"n = {n}: equals fewshot_lib.provenance.watermark.dct_matrix", D, dct_matrix(n), atol=1e-5)
        block = np.random.default_rng(11).uniform(0, 255, (8, 8)).astype(np.float32)               # an 8 × 8 block of luma
        D = _as_array(dct_matrix_by_hand(8))
        check.close("D Y Dᵀ equals OpenCV's 2-D DCT (cv2.dct) of an 8 × 8 block", D @ block @ D.T, cv2.dct(block),
                    atol=1e-2)


def _slots(count: int = 500, step: float = 56.0):
    """Seeded slot differences d (DCT units), bits and dithers t (units of Δ) for the two dither checks."""
    rng = np.random.default_rng(11)
    return rng.normal(0, 120, count), rng.integers(0, 2, count), rng.random(count), step, rng


def check_dither_modulation(embed_bits_by_hand) -> None:
    """Exercise 11.2: ``embed_bits_by_hand(d, bits, dither, step) → new d``, dither modulation of one number per bit."""
    with Check("check_dither_modulation",
               "each d moves to the nearest point of its bit's lattice Δ·k + (t + b/2)·Δ",
               hint="the two lattices are the same comb of teeth Δ apart, shifted by t·Δ (bit 0) and by (t + ½)·Δ "
                    "(bit 1): subtract the shift, count how many whole teeth away d is (to the nearest), then "
                    "undo the shift") as check:
        d, bits, dither, step, _ = _slots()
        marked = _as_array(embed_bits_by_hand(d.copy(), bits.copy(), dither.copy(), step))
        if not check.holds("returns one new d per d", marked is not None and marked.shape == d.shape,
                           f"got {None if marked is None else marked.shape}"):
            return
        check.close("equals fewshot_lib.provenance.watermark.dither_modulate", marked,
                    dither_modulate(d, bits, dither, step), atol=1e-6)
        check.holds("moves each d by at most Δ/2", np.abs(marked - d).max() <= step / 2 + 1e-9,
                    f"largest move {np.abs(marked - d).max():.1f}, Δ/2 = {step / 2:g}")
        read = dither_votes(marked, dither, step) > 0                       # the library's reader
        check.holds("the library's reader finds every bit in it", np.array_equal(read, bits),
                    f"{int((read == bits).sum())} of {len(bits)} right")


def check_dither_reading(read_bits_by_hand) -> None:
    """Exercise 11.3: ``read_bits_by_hand(d, dither, step) → bits``, the bit whose lattice is nearer to each d."""
    with Check("check_dither_reading",
               "a d reads as the bit whose lattice (t·Δ or (t + ½)·Δ, plus whole steps) is nearer; "
               "a change of less than Δ/4 leaves the bit as it was",
               hint="how far is d from bit 0's lattice, measured in steps Δ? Only the fractional part of that "
                    "distance matters: close to 0 (or to 1) means bit 0, close to ½ means bit 1") as check:
        d, bits, dither, step, rng = _slots()
        marked = dither_modulate(d, bits, dither, step)
        read = _as_array(read_bits_by_hand(marked.copy(), dither.copy(), step))
        if not check.holds("returns one bit per d", read is not None and read.shape == d.shape,
                           f"got {None if read is None else read.shape}"):
            return
        check.holds("reads back every bit dither_modulate embedded", np.array_equal(read, bits),
                    f"{int((read == bits).sum())} of {len(bits)} right")
        noise = rng.uniform(-0.24, 0.24, len(d)) * step                    # any change under Δ/4
        library = (dither_votes(marked + noise, dither, step) > 0).astype(int)
        survived = _as_array(read_bits_by_hand(marked + noise, dither.copy(), step))
        check.holds("still reads every bit after changes of up to 0.24 Δ", np.array_equal(survived, bits),
                    f"{int((survived == bits).sum())} of {len(bits)} right")
        check.holds("agrees with the library's reader (the sign of dither_votes) on those",
                    np.array_equal(survived, library))
        unmarked = _as_array(read_bits_by_hand(d.copy(), dither.copy(), step))
        agree = float((unmarked == bits).mean())
        check.holds("an unmarked d reads as a coin flip (40–60 % agree with the message)", 0.4 <= agree <= 0.6,
                    f"{agree:.0%} agree")
