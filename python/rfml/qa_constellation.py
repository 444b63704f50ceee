#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""QA of rfml.render_constellations and the rfml.constellation block.

The kernel is checked against the float64 numpy references below, and the decay
defaults against a re-implementation of DenoMAE's padded-canvas rendering.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
from gnuradio import blocks, gr, gr_unittest, rfml

DENOMAE_RATES = (1.0, 0.2, 0.1)
DENOMAE_WINDOWS = (5, 25, 50)


def reference_histogram(iq, size=224, extent=2.5):
    """Counts per pixel, float64. iq: (B, L) complex -> (B, 1, H, W)."""
    out = np.zeros((len(iq), 1, size, size))
    for b, z in enumerate(iq):
        z = z[np.isfinite(z)].astype(np.complex128)
        col = np.floor((z.real + extent) * (size / (2 * extent)))
        row = np.floor((extent - z.imag) * (size / (2 * extent)))
        ok = (col >= 0) & (col < size) & (row >= 0) & (row < size)
        np.add.at(out[b, 0], (row[ok].astype(int), col[ok].astype(int)), 1.0)
    return out


def reference_decay(
    iq, size=224, extent=2.5, rates=DENOMAE_RATES, windows=DENOMAE_WINDOWS, normalise=True
):
    """DenoMAE decay images, float64, vectorised over samples. iq: (B, L) -> (B, C, H, W);
    size: an int (square) or (H, W)."""
    height, width = (size, size) if np.isscalar(size) else size
    di, dq = 2 * extent / width, 2 * extent / height  # pixel width (I) and height (Q)
    diagonal = np.hypot(di, dq)
    out = np.zeros((len(iq), len(rates), height, width))
    for b, z in enumerate(iq):
        z = z[np.isfinite(z)].astype(np.complex128)
        u = (z.real + extent) / di  # column coordinate
        v = (extent - z.imag) / dq  # row coordinate
        for k, (c, w) in enumerate(zip(rates, windows, strict=True)):
            offsets = np.arange(-w, w + 1)
            cols = np.rint(u)[:, None] + offsets  # (N, 2w+1)
            rows = np.rint(v)[:, None] + offsets
            dist = np.hypot(
                (rows + 0.5 - v[:, None])[:, :, None] * dq,
                (cols + 0.5 - u[:, None])[:, None, :] * di,
            )  # (N, rows, cols)
            weight = np.exp(-c * dist / diagonal)
            inside = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[
                :, None, :
            ]
            flat = (rows[:, :, None] * width + cols[:, None, :])[inside].astype(int)
            image = np.bincount(flat, weight[inside], height * width).reshape(height, width)
            out[b, k] = image
            if normalise and image.max() > 0:
                out[b, k] /= image.max()
    return out


def denomae_generate_image(z, size=224, extent=2.5, windows=DENOMAE_WINDOWS):
    """DenoMAE's rendering as its authors describe it (float64, before the uint8 step):
    a canvas padded by 2 * max(windows) pixels per side, windows anchored by rint,
    samples whose window crosses the canvas edge dropped, each channel divided by its
    maximum over the padded canvas, then cropped. Returns (C, H, W)."""
    pad = 2 * max(windows)
    n = size + 2 * pad
    pixel = 2 * extent / size
    half = extent + pad * pixel
    centres = (-half + pixel / 2 + np.arange(n) * pixel)[None, :] + 1j * (
        half - pixel / 2 - np.arange(n) * pixel
    )[:, None]
    row = np.rint((half - z.imag) / pixel).astype(int)
    col = np.rint((half + z.real) / pixel).astype(int)
    canvas = np.zeros((len(windows), n, n))
    for k, w in enumerate(windows):
        c = 5.0 / w
        for r, q, s in zip(row, col, z, strict=True):
            if r - w <= 0 or q - w <= 0 or r + w + 1 >= n or q + w + 1 >= n:
                continue
            patch = centres[r - w : r + w + 1, q - w : q + w + 1]
            canvas[k, r - w : r + w + 1, q - w : q + w + 1] += np.exp(
                -c * np.abs(s - patch) / np.hypot(pixel, pixel)
            )
        canvas[k] /= canvas[k].max()
    return canvas[:, pad:-pad, pad:-pad]


def relative_error(a, b):
    """Largest |a - b| per (vector, channel) over the channel maximum of b."""
    return float((np.abs(a - b).max(axis=(2, 3)) / b.max(axis=(2, 3))).max())


def run_isolated(code):
    """Run ``code`` in a fresh interpreter (a crash there does not end the tests):
    (exit status, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    return proc.returncode, proc.stdout, proc.stderr


def noisy(rng, shape, sigma):
    return (sigma * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))).astype(
        np.complex64
    )


class qa_constellation(gr_unittest.TestCase):
    def setUp(self):
        self.tb = gr.top_block()
        self.rng = np.random.default_rng(1234)

    def tearDown(self):
        self.tb = None

    def test_histogram_counts_exactly(self):
        iq = noisy(self.rng, (3, 2000), 1.2)  # some samples fall outside +-2.5
        got = rfml.render_constellations(iq, mode="histogram")
        self.assertEqual(got.shape, (3, 1, 224, 224))
        np.testing.assert_array_equal(got, reference_histogram(iq))
        self.assertLess(got.sum(), 3 * 2000)

    def test_histogram_uint8_and_max(self):
        iq = np.full((1, 300), 0.1 + 0.1j, np.complex64)
        iq[0, :5] = -1.0
        counts = rfml.render_constellations(iq, mode="histogram", size=32, dtype="uint8")
        self.assertEqual(counts.dtype, np.uint8)
        self.assertEqual(counts.max(), 255)  # 295 counts saturate
        self.assertEqual(np.sort(counts.ravel())[-2], 5)
        scaled = rfml.render_constellations(iq, mode="histogram", size=32, normalise="max")
        self.assertAlmostEqual(float(np.sort(scaled.ravel())[-2]), 5 / 295, places=7)

    def test_decay_direct_matches_reference(self):
        iq = noisy(self.rng, (2, 256), 0.9)
        want = reference_decay(iq)
        got = rfml.render_constellations(iq, method="direct")
        self.assertEqual(got.shape, (2, 3, 224, 224))
        self.assertLess(relative_error(got, want), 1e-5)

    def test_decay_small_windows_match_reference(self):
        # windows up to 7 pixels are summed together over the union of their boxes
        iq = noisy(self.rng, (2, 300), 1.1)  # boxes crossing every edge included
        rates, windows = (1.0, 0.7, 0.5), (3, 5, 7)
        want = reference_decay(iq, rates=rates, windows=windows)
        got = rfml.render_constellations(iq, rates=rates, windows=windows)
        self.assertLess(relative_error(got, want), 1e-5)

    def test_decay_fft_matches_reference(self):
        for iq in (
            noisy(self.rng, (2, 256), 1.1),  # many samples near or past the edge
            np.exp(1j * np.pi / 2 * self.rng.integers(0, 4, (2, 256))).astype(np.complex64),
        ):  # a noiseless constellation: coherent errors
            want = reference_decay(iq, normalise=False)
            got = rfml.render_constellations(iq, normalise="none")
            self.assertLess(relative_error(got, want), 1e-3)

    def test_decay_fft_other_geometry(self):
        # 96 x 64: window 25 through FFTs of 128 x 96, window 50 too wide for them (direct);
        # 51 x 43: FFTs of 90 x 75 (odd rows of real values, odd spectrum columns)
        iq = noisy(self.rng, (2, 300), 1.0)
        for size in ((96, 64), (51, 43)):
            want = reference_decay(iq, size=size, normalise=False)
            got = rfml.render_constellations(iq, size=size, normalise="none")
            self.assertEqual(got.shape, (2, 3, *size))
            self.assertLess(relative_error(got, want), 1e-3)

    def test_defaults_equal_denomae_rendering(self):
        z = 0.6 * np.exp(1j * np.pi / 2 * self.rng.integers(0, 4, 200)) + 0.15 * (
            self.rng.standard_normal(200) + 1j * self.rng.standard_normal(200)
        )
        want = denomae_generate_image(z)
        iq = z[None].astype(np.complex64)
        self.assertLess(
            np.abs(rfml.render_constellations(iq, method="direct")[0] - want).max(), 1e-4
        )
        self.assertLess(np.abs(rfml.render_constellations(iq)[0] - want).max(), 5e-4)
        u8 = rfml.render_constellations(iq, dtype=np.uint8)[0]
        self.assertLessEqual(np.abs(u8.astype(int) - (want * 255).astype(np.uint8)).max(), 1)

    def test_auto_extent_scales_by_rms(self):
        iq = noisy(self.rng, (2, 400), 3.0)
        rms = np.sqrt((np.abs(iq.astype(np.complex128)) ** 2).mean(axis=1, keepdims=True))
        got = rfml.render_constellations(iq, extent="auto", method="direct")
        want = reference_decay(iq / rms)
        self.assertLess(relative_error(got, want), 1e-5)
        fixed = rfml.render_constellations(iq, method="direct")
        self.assertGreater(relative_error(fixed, want), 0.1)  # +-2.5 loses the signal

    def test_nan_and_inf_are_skipped_and_counted(self):
        iq = noisy(self.rng, (2, 300), 0.7)
        clean = iq.copy()
        iq[0, [3, 50]] = np.nan
        iq[1, 7] = complex(np.inf, 0)
        images, invalid = rfml.render_constellations(iq, return_invalid=True)
        np.testing.assert_array_equal(invalid, [2, 1])
        self.assertTrue(np.isfinite(images).all())
        want = rfml.render_constellations(
            np.stack([np.delete(clean[0], [3, 50])[:298], np.delete(clean[1], 7)[:298]])
        )
        self.assertLess(np.abs(images[0] - want[0]).max(), 1e-6)

    def test_bad_input_names_the_expected_shape(self):
        iq = noisy(self.rng, (2, 64), 0.7)
        with self.assertRaisesRegex(TypeError, "complex64"):
            rfml.render_constellations(iq.astype(np.complex128))
        with self.assertRaisesRegex(ValueError, r"\(B, L\)"):
            rfml.render_constellations(iq[0])
        with self.assertRaisesRegex(ValueError, "C-contiguous"):
            rfml.render_constellations(iq[:, ::2])
        with self.assertRaisesRegex(ValueError, "histogram"):
            rfml.render_constellations(iq, mode="scatter")
        with self.assertRaisesRegex(ValueError, "one window per rate"):
            rfml.render_constellations(iq, rates=[1.0], windows=[5, 25])
        with self.assertRaisesRegex(ValueError, "auto"):
            rfml.render_constellations(iq, extent="big")
        with self.assertRaisesRegex(TypeError, "uint8"):
            rfml.render_constellations(iq, dtype="float64")
        empty = rfml.render_constellations(np.zeros((0, 64), np.complex64), size=(16, 8))
        self.assertEqual(empty.shape, (0, 3, 16, 8))

    def test_huge_windows_are_refused_not_a_crash(self):
        # 2 * b + 1 overflowed int for b = 2**31 - 1 (a segmentation fault)
        rc, out, err = run_isolated("""
            import numpy as np
            from gnuradio import rfml
            z = np.zeros((1, 16), np.complex64)
            for call in (
                lambda: rfml.render_constellations(z, size=32, rates=[1.0], windows=[2**31 - 1]),
                lambda: rfml.constellation(16, height=32, width=32, rates=[1.0],
                                           windows=[2**31 - 1]),
                lambda: rfml.render_constellations(z, size=32, rates=[1.0], windows=[65537]),
            ):
                try:
                    call()
                except ValueError as e:
                    print("ValueError:", e)
        """)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 3, out)
        for line in lines:
            self.assertRegex(line, r"ValueError: windows must be an integer in \[0, 65536\]")

    def test_a_window_wider_than_the_image_covers_it(self):
        # samples inside a 16x16 image: any window of 16 pixels or more reaches every pixel
        iq = noisy(self.rng, (2, 100), 0.5)
        wide = rfml.render_constellations(iq, size=16, rates=[0.05], windows=[65536])
        direct = rfml.render_constellations(
            iq, size=16, rates=[0.05], windows=[16], method="direct"
        )
        np.testing.assert_array_equal(wide, direct)
        self.assertLess(relative_error(wide, reference_decay(iq, 16, 2.5, [0.05], [16])), 1e-5)

    def test_sizes_and_extents_are_checked(self):
        iq = noisy(self.rng, (1, 64), 0.7)
        for size in (2.5, 2**31, 0, (16, 0), (16, 2.5), True, "16"):
            with self.assertRaisesRegex(ValueError, r"size.* must be an integer in \[1, 8192\]"):
                rfml.render_constellations(iq, size=size, normalise="max")
        for extent in (0.0, -1.0, float("nan"), float("inf"), 1e300, [1.0]):
            with self.assertRaisesRegex(ValueError, "extent"):
                rfml.render_constellations(iq, extent=extent)
        for rates in ([float("inf"), 1, 1], [-1.0, 1, 1], [1e7, 1, 1]):
            with self.assertRaisesRegex(ValueError, r"decay rates must be in \[0, 1e\+06\]"):
                rfml.render_constellations(iq, rates=rates)
        with self.assertRaisesRegex(ValueError, "threads must be an integer"):
            rfml.render_constellations(iq, threads=2**40)
        with self.assertRaisesRegex(ValueError, "height must be an integer"):
            rfml.constellation(64, height=2**31)
        with self.assertRaisesRegex(ValueError, "vector_length must be an integer"):
            rfml.constellation(2.7)

    def test_threads_beyond_the_cores_are_not_started(self):
        iq = noisy(self.rng, (200, 16), 0.8)
        np.testing.assert_array_equal(
            rfml.render_constellations(iq, size=8, threads=1000),
            rfml.render_constellations(iq, size=8, threads=1),
        )

    def test_a_refused_thread_is_an_error_not_an_abort(self):
        if (os.cpu_count() or 1) < 2:
            self.skipTest("one core: the renderer starts no thread")
        # the address space leaves room for one thread stack (8 MiB), not two: the second
        # std::thread fails while the first runs (SIGABRT before: a joinable thread left)
        rc, out, err = run_isolated("""
            import resource
            import numpy as np
            from gnuradio import rfml
            iq = np.ones((2000, 16), np.complex64)
            out = np.zeros((2000, 1, 8, 8), np.float32)
            rfml.render_constellations(iq, mode="histogram", size=8, threads=1, out=out)
            with open("/proc/self/status") as f:
                vm = next(int(l.split()[1]) for l in f if l.startswith("VmSize:")) * 1024
            resource.setrlimit(resource.RLIMIT_AS, (vm + (10 << 20), resource.RLIM_INFINITY))
            try:
                rfml.render_constellations(iq, mode="histogram", size=8, threads=2, out=out)
                print("rendered")
            except (RuntimeError, MemoryError) as e:
                print(type(e).__name__ + ":", e)
        """)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"rendered|RuntimeError: the system refused worker thread 2 of 2")

    def test_a_render_error_in_the_block_ends_the_flowgraph(self):
        if (os.cpu_count() or 1) < 2:
            self.skipTest("one core: the renderer starts no thread")
        # threads refused once the flowgraph runs: logged, WORK_DONE, tb.wait() returns
        rc, out, err = run_isolated("""
            import resource, threading, time
            import numpy as np
            from gnuradio import blocks, gr, rfml
            tb = gr.top_block()
            gate = blocks.copy(8 * 16)
            gate.set_enabled(False)
            src = blocks.vector_source_c([1j] * 16 * 64, True, 16)
            blk = rfml.constellation(16, mode="histogram", height=8, width=8, threads=2)
            tb.connect(src, gate, blk, blocks.null_sink(4 * 64))
            tb.start()
            done = threading.Event()
            threading.Thread(target=lambda: (tb.wait(), done.set()), daemon=True).start()
            time.sleep(0.5)
            with open("/proc/self/status") as f:
                vm = next(int(l.split()[1]) for l in f if l.startswith("VmSize:")) * 1024
            resource.setrlimit(resource.RLIMIT_AS, (vm + (10 << 20), resource.RLIM_INFINITY))
            gate.set_enabled(True)
            print("ended" if done.wait(20) else "hangs")
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
            tb.stop()
        """)
        self.assertEqual(rc, 0, err)
        self.assertIn("ended", out)
        self.assertIn("the system refused worker thread", out + err)

    def test_render_into_a_given_array(self):
        iq = noisy(self.rng, (3, 300), 0.8)
        want = rfml.render_constellations(iq, size=48)
        out = np.full((3, 3, 48, 48), np.nan, np.float32)  # every pixel is written
        got = rfml.render_constellations(iq, size=48, out=out)
        self.assertIs(got, out)
        np.testing.assert_array_equal(out, want)
        rfml.render_constellations(iq[::-1].copy(), size=48, out=out)  # reused
        np.testing.assert_array_equal(out, want[::-1])
        u8 = np.zeros((3, 1, 48, 48), np.uint8)
        rfml.render_constellations(iq, mode="histogram", size=48, dtype="uint8", out=u8)
        np.testing.assert_array_equal(
            u8, rfml.render_constellations(iq, mode="histogram", size=48, dtype="uint8")
        )
        with self.assertRaisesRegex(ValueError, r"shape \(3, 3, 48, 48\)"):
            rfml.render_constellations(iq, size=48, out=np.zeros((3, 3, 48, 47), np.float32))
        with self.assertRaisesRegex(ValueError, "C-contiguous"):
            rfml.render_constellations(
                iq, size=48, out=np.zeros((3, 3, 48, 96), np.float32)[..., ::2]
            )
        with self.assertRaisesRegex(TypeError, "float32"):
            rfml.render_constellations(iq, size=48, out=np.zeros((3, 3, 48, 48)))

    def test_threads_and_torch_input(self):
        iq = noisy(self.rng, (5, 200), 0.8)
        one = rfml.render_constellations(iq, threads=1)
        np.testing.assert_array_equal(one, rfml.render_constellations(iq, threads=2))
        try:
            import torch
        except ImportError:
            return
        tensor = torch.from_numpy(iq)
        np.testing.assert_array_equal(one, rfml.render_constellations(tensor.numpy()))

    def test_block_renders_every_vector(self):
        vlen, n = 128, 5
        iq = noisy(self.rng, (n, vlen), 0.8)
        iq[2, 9] = np.nan
        src = blocks.vector_source_c(iq.ravel().tolist(), False, vlen)
        blk = rfml.constellation(vlen, height=48, width=64, windows=[2, 12, 20])
        snk = blocks.vector_sink_f(3 * 48 * 64)
        self.tb.connect(src, blk, snk)
        self.tb.run()
        got = np.array(snk.data(), np.float32).reshape(n, 3, 48, 64)
        want = rfml.render_constellations(iq, size=(48, 64), windows=[2, 12, 20])
        np.testing.assert_array_equal(got, want)
        self.assertEqual(blk.invalid_samples(), 1)
        self.assertEqual(blk.invalid_vectors(), 1)


if __name__ == "__main__":
    gr_unittest.run(qa_constellation)
