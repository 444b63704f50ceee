# SPDX-License-Identifier: GPL-3.0-or-later
"""`rfml bench constellation`: the C++ constellation renderer beside numpy baselines.

Measured in the same run on the same vectors (QPSK at 10 dB SNR, unit power):
histogram mode against ``numpy.histogram2d`` per image and against the memory floor (a
bare write of an output array of the same size); decay mode (DenoMAE, 3 channels)
through the FFT path and the direct path, against a vectorised float64 numpy version.
Both modes are also timed into a reused output array (``out=``, no fresh memory for the
operating system to clear); decay mode on one thread too, and split into its parts: the
direct window-5 channel alone and the two FFT channels (windows 25 and 50) alone. The
process CPU time per image of the default decay call and the histogram's speed-up over
numpy in CPU time are printed as well (on a shared machine they move less than the
wall-clock rates do). The numpy baselines run on a subset of the batch
(``--baseline-batch``), best of ``--repeat`` like the kernel, and are reported per image.
"""

import argparse
import time


def get_args_parser():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--batch", type=int, default=1024, help="vectors per call (B)")
    parser.add_argument("--length", type=int, default=1024, help="samples per vector (L)")
    parser.add_argument("--size", type=int, default=224, help="image height = width")
    parser.add_argument("--threads", type=int, default=0, help="kernel threads, 0 = all")
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed calls (numpy histogram2d too); the best counts"
    )
    parser.add_argument(
        "--baseline-batch", type=int, default=16, help="vectors timed for the numpy baselines"
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser


def qpsk(rng, batch, length, snr_db=10.0):
    """Unit-power QPSK with white noise: complex64 (B, L)."""
    import numpy as np

    symbols = np.exp(1j * (np.pi / 4 + np.pi / 2 * rng.integers(0, 4, (batch, length))))
    sigma = np.sqrt(10 ** (-snr_db / 10) / 2)
    shape = (batch, length)
    noise = sigma * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
    return ((symbols + noise) / np.sqrt(1 + 2 * sigma**2)).astype(np.complex64)


def numpy_decay(z, size=224, extent=2.5, rates=(1.0, 0.2, 0.1), windows=(5, 25, 50), chunk=128):
    """DenoMAE decay image of one vector in float64 numpy, vectorised over samples.
    z: (L,) complex -> (C, H, W), each channel divided by its maximum."""
    import numpy as np

    pixel = 2 * extent / size
    u = (z.real + extent) / pixel
    v = (extent - z.imag) / pixel
    out = np.zeros((len(rates), size * size))
    for k, (c, w) in enumerate(zip(rates, windows, strict=True)):
        offsets = np.arange(-w, w + 1)
        for s in range(0, len(z), chunk):
            cu, cv = u[s : s + chunk, None], v[s : s + chunk, None]
            cols, rows = np.rint(cu) + offsets, np.rint(cv) + offsets  # (n, 2w+1)
            dist = np.hypot((rows + 0.5 - cv)[:, :, None], (cols + 0.5 - cu)[:, None, :])
            inside = ((rows >= 0) & (rows < size))[:, :, None] & ((cols >= 0) & (cols < size))[
                :, None, :
            ]
            flat = (rows[:, :, None] * size + cols[:, None, :])[inside].astype(np.int64)
            weight = np.exp(-c * dist[inside] / np.sqrt(2))  # distance in pixel diagonals
            out[k] += np.bincount(flat, weight, size * size)
        out[k] /= max(out[k].max(), np.finfo(float).tiny)
    return out.reshape(len(rates), size, size)


def best_time(fn, repeat, cpu=False):
    """Shortest wall-clock time of `repeat` calls (and that call's process CPU time)."""
    times = []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - start, time.process_time() - start_cpu))
    best = min(times)
    return best if cpu else best[0]


def run(args):
    import numpy as np
    from gnuradio import rfml
    from tqdm import tqdm

    if args.batch < 1 or args.length < 1 or args.size < 1 or args.baseline_batch < 1:
        raise ValueError("--batch, --length, --size and --baseline-batch must be at least 1")
    rng = np.random.default_rng(args.seed)
    iq = qpsk(rng, args.batch, args.length)
    nb = min(args.baseline_batch, args.batch)
    size, extent = args.size, 2.5
    render = rfml.render_constellations
    render(iq[:2], size=size, threads=args.threads)  # plans the FFTs once

    def hist():
        return render(iq, mode="histogram", size=size, threads=args.threads)

    def floor():
        np.empty((args.batch, 1, size, size), np.float32).fill(1.0)

    t_hist, cpu_hist = best_time(hist, args.repeat, cpu=True)
    t_floor = best_time(floor, args.repeat)
    t_decay, cpu_decay = best_time(
        lambda: render(iq, size=size, threads=args.threads), args.repeat, cpu=True
    )
    out = np.zeros((args.batch, 3, size, size), np.float32)  # its pages already mapped

    def into(channels):  # a contiguous (B, channels, H, W) view of out
        return out.reshape(-1)[: args.batch * channels * size * size].reshape(
            args.batch, channels, size, size
        )

    t_hist_out = best_time(
        lambda: render(iq, mode="histogram", size=size, threads=args.threads, out=into(1)),
        args.repeat,
    )
    t_out = best_time(lambda: render(iq, size=size, threads=args.threads, out=out), args.repeat)
    t_one = best_time(lambda: render(iq, size=size, threads=1, out=out), 1)
    t_w5 = best_time(
        lambda: render(iq, size=size, rates=[1.0], windows=[5], threads=args.threads, out=into(1)),
        1,
    )
    t_w25_50 = best_time(
        lambda: render(
            iq, size=size, rates=[0.2, 0.1], windows=[25, 50], threads=args.threads, out=into(2)
        ),
        1,
    )
    sub = iq[:nb]
    t_direct = best_time(lambda: render(sub, size=size, method="direct", threads=args.threads), 1)

    def np_hist():
        for z in tqdm(sub, desc="numpy histogram2d", leave=False):
            np.histogram2d(-z.imag, z.real, bins=size, range=[[-extent, extent], [-extent, extent]])

    t_np_hist, cpu_np_hist = (t / nb for t in best_time(np_hist, args.repeat, cpu=True))
    n_np = min(nb, 4)
    start = time.perf_counter()
    reference = [numpy_decay(z, size) for z in tqdm(sub[:n_np], desc="numpy decay", leave=False)]
    t_np_decay = (time.perf_counter() - start) / n_np

    fft = render(sub[:n_np], size=size, threads=args.threads)
    decay_error = float(np.abs(fft - np.stack(reference)).max())

    hist_rate = args.batch / t_hist
    decay_rate = args.batch / t_decay
    return {
        "batch": args.batch,
        "length": args.length,
        "size": size,
        "threads": args.threads,
        "histogram_images_per_s": round(hist_rate, 1),
        "numpy_histogram2d_images_per_s": round(1 / t_np_hist, 1),
        "histogram_vs_numpy": round(hist_rate * t_np_hist, 2),
        "floor_images_per_s": round(args.batch / t_floor, 1),
        "histogram_vs_floor": round(t_hist / t_floor, 3),
        "histogram_vs_numpy_cpu": round(cpu_np_hist * args.batch / cpu_hist, 2),
        "histogram_out_images_per_s": round(args.batch / t_hist_out, 1),
        "histogram_out_vs_numpy": round(t_np_hist * args.batch / t_hist_out, 2),
        "decay_images_per_s": round(decay_rate, 1),
        "decay_cpu_ms_per_image": round(cpu_decay / args.batch * 1e3, 3),
        "decay_out_images_per_s": round(args.batch / t_out, 1),
        "decay_threads1_images_per_s": round(args.batch / t_one, 1),
        "decay_window5_images_per_s": round(args.batch / t_w5, 1),
        "decay_windows25_50_images_per_s": round(args.batch / t_w25_50, 1),
        "decay_direct_images_per_s": round(nb / t_direct, 1),
        "numpy_decay_images_per_s": round(1 / t_np_decay, 2),
        "decay_vs_numpy": round(decay_rate * t_np_decay, 1),
        "decay_vs_direct": round(decay_rate * t_direct / nb, 2),
        "decay_max_abs_error_vs_numpy": decay_error,
    }
