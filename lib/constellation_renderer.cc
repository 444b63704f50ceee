/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "decay_fft.h"
#include "target_clones.h"
#include <gnuradio/rfml/constellation_renderer.h>
#include <system_error>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>

namespace gr {
namespace rfml {

render_config::render_mode render_config::parse_mode(const std::string& name)
{
    if (name == "histogram") {
        return render_mode::histogram;
    }
    if (name == "decay") {
        return render_mode::decay;
    }
    throw std::invalid_argument("unknown constellation mode '" + name +
                                "': choose 'histogram' or 'decay'");
}

render_config::render_method render_config::parse_method(const std::string& name)
{
    if (name == "fft") {
        return render_method::fft;
    }
    if (name == "direct") {
        return render_method::direct;
    }
    throw std::invalid_argument("unknown decay method '" + name +
                                "': choose 'fft' or 'direct'");
}

bool render_config::parse_normalise(const std::string& name)
{
    if (name == "max") {
        return true;
    }
    if (name == "none") {
        return false;
    }
    throw std::invalid_argument("unknown normalisation '" + name +
                                "': choose 'max' or 'none'");
}

namespace {

// exp(x) for x <= 0: relative error below 3e-7; x below -87 is treated as -87 (~1e-38).
inline float exp_nonpositive(float x)
{
    x = x < -87.0f ? -87.0f : x;
    const float t = x * 1.44269504088896341f;
    const int n = static_cast<int>(t + 128.0f) - 128; // floor(t) for t > -128
    const float f = t - static_cast<float>(n);        // [0, 1)
    float p = 1.8775767e-3f;
    p = p * f + 8.9893397e-3f;
    p = p * f + 5.5826318e-2f;
    p = p * f + 2.4015361e-1f;
    p = p * f + 6.9315308e-1f;
    p = p * f + 9.9999994e-1f;
    int32_t bits;
    std::memcpy(&bits, &p, sizeof bits);
    bits += n * (1 << 23);
    std::memcpy(&p, &bits, sizeof p);
    return p;
}

// Columns are processed in whole blocks of this many (the vector width of AVX2).
constexpr int column_block = 8;
// Channels that the small-window path sums together.
constexpr size_t max_small = 4;

// acc[i][j] += mask[j - j0] * exp(neg_k * sqrt(dx2[j - j0] + dy(i)^2)) for i in [i0, i1]
// and j in [j0, j0 + n), n = j1 - j0 + 1 rounded up to whole column blocks (mask = 0
// past j1; acc has a column block of slack after its last row), dy(i) = (i + 0.5 - v) *
// dq.
RFML_TARGET_CLONES
void accumulate_window(float* acc,
                       int width,
                       int i0,
                       int i1,
                       int j0,
                       int j1,
                       double v,
                       double dq,
                       const float* dx2,
                       const float* mask,
                       float neg_k)
{
    const int n = (j1 - j0 + column_block) / column_block * column_block;
    for (int i = i0; i <= i1; i++) {
        const float dy = static_cast<float>((i + 0.5 - v) * dq);
        const float dy2 = dy * dy;
        float* row = acc + static_cast<size_t>(i) * width + j0;
        for (int j = 0; j < n; j++) {
            row[j] += mask[j] * exp_nonpositive(neg_k * std::sqrt(dx2[j] + dy2));
        }
    }
}

// The small windows of one sample, all channels at once: the union of their boxes is
// at most union_lanes pixels wide and lies inside the image columns.
constexpr int union_lanes = 16;

struct small_window {
    float* acc; // the channel's H x W accumulator
    int lo, hi; // the box [lo, hi]^2 around the anchor
    float neg_rate;
};

// Rows [i0, i1] of the union box [lo, hi]^2 around the anchor (av, j0 - lo); dx2[t] =
// squared I distance from the sample to the centre of column j0 + t, dy(i) = (i + 0.5 -
// v) * dq. The distances over the union box, and then each window's weights over its
// own box, are stored flat (row after row, no padding) so that every vector lane is a
// pixel of the box.
RFML_TARGET_CLONES
void accumulate_small(const small_window* windows,
                      int n_windows,
                      int width,
                      int i0,
                      int i1,
                      int av,
                      int j0,
                      int lo,
                      int hi,
                      double v,
                      double dq,
                      const float* dx2)
{
    constexpr int L = union_lanes;
    const int U = hi - lo + 1, rows = i1 - i0 + 1;
    float r[(L + 1) * L], e[(L + 1) * L]; // a row of slack for whole-vector copies
    for (int t = 0; t < rows; t++) {
        const float dy = static_cast<float>((i0 + t + 0.5 - v) * dq);
        const float dy2 = dy * dy;
        for (int j = 0; j < U; j++) {
            r[t * U + j] = dx2[j] + dy2;
        }
    }
    const int n_r = rows * U;
    for (int q = 0; q < n_r; q++) {
        r[q] = std::sqrt(r[q]);
    }
    std::fill(r + n_r, r + n_r + L, 0.0f); // read (and not used) by the copies below
    for (int w = 0; w < n_windows; w++) {
        const small_window s = windows[w];
        const int t0 = std::max(i0, av + s.lo) - i0, t1 = std::min(i1, av + s.hi) - i0;
        const int first = s.lo - lo, count = s.hi - s.lo + 1;
        if (t0 > t1) {
            continue;
        }
        int n = 0;
        if (count == U) { // whole rows of the union box: no gather
            n = (t1 - t0 + 1) * U;
            const float* rr = r + t0 * U;
            for (int q = 0; q < n; q++) {
                e[q] = exp_nonpositive(s.neg_rate * rr[q]);
            }
        } else {
            for (int t = t0; t <= t1; t++) { // whole vectors; lanes past count rewritten
                for (int j = 0; j < L; j++) {
                    e[n + j] = r[t * U + first + j];
                }
                n += count;
            }
            for (int q = 0; q < n; q++) {
                e[q] = exp_nonpositive(s.neg_rate * e[q]);
            }
        }
        const float* src = e;
        for (int t = t0; t <= t1; t++) {
            float* row = s.acc + static_cast<size_t>(i0 + t) * width + j0 + first;
            for (int j = 0; j < count; j++) {
                row[j] += src[j];
            }
            src += count;
        }
    }
}

// The largest value of a[0, n), or 0 if none is positive.
RFML_TARGET_CLONES
float channel_peak(const float* a, size_t n)
{
    float m[column_block] = {};
    size_t p = 0;
    for (; p + column_block <= n; p += column_block) {
        for (int t = 0; t < column_block; t++) {
            m[t] = std::max(m[t], a[p + t]);
        }
    }
    for (; p < n; p++) {
        m[0] = std::max(m[0], a[p]);
    }
    return *std::max_element(m, m + column_block);
}

// o[p] = a[p] / divisor and a[p] = 0 (the accumulator cleared for the next image).
RFML_TARGET_CLONES
void emit_channel(float* a, float* o, size_t n, float divisor)
{
    for (size_t p = 0; p < n; p++) {
        o[p] = a[p] / divisor;
        a[p] = 0.0f;
    }
}

} // namespace

constellation_renderer::constellation_renderer(const render_config& config)
    : d_config(config)
{
    if (config.height < 1 || config.width < 1 ||
        config.height > render_config::max_size ||
        config.width > render_config::max_size) {
        throw std::invalid_argument("image size must be between 1x1 and " +
                                    std::to_string(render_config::max_size) + "x" +
                                    std::to_string(render_config::max_size) + ", got " +
                                    std::to_string(config.height) + "x" +
                                    std::to_string(config.width));
    }
    if (!(config.extent >= render_config::min_extent &&
          config.extent <= render_config::max_extent)) {
        throw std::invalid_argument("extent must be a number in [1e-09, 1e+09], got " +
                                    std::to_string(config.extent));
    }
    if (config.mode == render_config::render_mode::histogram) {
        d_channels = 1;
        return;
    }
    if (config.rates.empty() || config.rates.size() != config.windows.size()) {
        throw std::invalid_argument("decay mode needs one window per rate, got " +
                                    std::to_string(config.rates.size()) + " rates and " +
                                    std::to_string(config.windows.size()) + " windows");
    }
    for (size_t k = 0; k < config.rates.size(); k++) {
        if (!(config.rates[k] >= 0.0 && config.rates[k] <= render_config::max_rate)) {
            throw std::invalid_argument("decay rates must be in [0, 1e+06], got " +
                                        std::to_string(config.rates[k]));
        }
        if (config.windows[k] < 0 || config.windows[k] > render_config::max_window) {
            throw std::invalid_argument("decay windows must be in [0, " +
                                        std::to_string(render_config::max_window) +
                                        "] pixels, got " +
                                        std::to_string(config.windows[k]));
        }
    }
    d_channels = config.rates.size();
    d_fft_channel.assign(d_channels, 0);
    if (config.method == render_config::render_method::direct) {
        return;
    }
    std::vector<double> rates;
    std::vector<int> windows;
    for (size_t k = 0; k < d_channels; k++) {
        const int b = config.windows[k];
        if (b >= render_config::fft_min_window &&
            2 * int64_t(b) + 1 <= int64_t(std::min(config.height, config.width)) + 32) {
            d_fft_channel[k] = 1;
            rates.push_back(config.rates[k]);
            windows.push_back(b);
        }
    }
    if (!rates.empty()) {
        d_fft = decay_fft::get(config.height, config.width, rates, windows);
    }
}

constellation_renderer::~constellation_renderer() = default;

double constellation_renderer::max_fit_error() const
{
    return d_fft ? d_fft->max_fit_error() : 0.0;
}

size_t constellation_renderer::image_size() const
{
    return d_channels * static_cast<size_t>(d_config.height) * d_config.width;
}

template <typename T>
void constellation_renderer::render_range(const gr_complex* in,
                                          size_t first,
                                          size_t last,
                                          size_t vlen,
                                          T* out,
                                          int64_t* invalid) const
{
    const int H = d_config.height;
    const int W = d_config.width;
    const size_t plane = static_cast<size_t>(H) * W;
    const bool decay = d_config.mode == render_config::render_mode::decay;
    const double E = d_config.extent;
    // Continuous pixel coordinates: u = (I + E) * su (columns), v = (E - Q) * sv (rows).
    const double su = W / (2.0 * E);
    const double sv = H / (2.0 * E);
    const double di = 2.0 * E / W;
    const double dq = 2.0 * E / H;
    const double dxy = std::hypot(di, dq);

    std::vector<float> acc(d_channels * plane + column_block, 0.0f);
    int max_window = 0;
    for (int b : d_config.windows) {
        max_window = std::max(max_window, b);
    }
    const size_t span =
        decay ? 2 * static_cast<size_t>(max_window) + 1 + column_block : 0;
    std::vector<float> dx2(span), mask(span);
    std::unique_ptr<decay_fft::workspace> fft;
    std::vector<float*> fft_dst;
    if (d_fft) {
        fft = std::make_unique<decay_fft::workspace>(*d_fft);
        for (size_t k = 0; k < d_channels; k++) {
            if (d_fft_channel[k]) {
                fft_dst.push_back(acc.data() + k * plane);
            }
        }
    }

    for (size_t vec = first; vec < last; vec++) {
        const gr_complex* z = in + vec * vlen;
        T* dst = out + vec * d_channels * plane;
        // Float histograms are counted in the output itself: one write of the image.
        float* counts = acc.data();
        float peak_count = 0.0f;
        if constexpr (std::is_same_v<T, float>) {
            if (!decay) {
                std::memset(dst, 0, plane * sizeof(float));
                counts = dst;
            }
        }
        int64_t bad = 0;
        double scale = 1.0;
        if (d_config.rms_scale) {
            double power = 0.0;
            size_t n_ok = 0;
            for (size_t n = 0; n < vlen; n++) {
                if (std::isfinite(z[n].real()) && std::isfinite(z[n].imag())) {
                    power += static_cast<double>(z[n].real()) * z[n].real() +
                             static_cast<double>(z[n].imag()) * z[n].imag();
                    n_ok++;
                }
            }
            const double rms = n_ok ? std::sqrt(power / n_ok) : 0.0;
            scale = rms > 0.0 ? rms : 1.0; // an all-zero vector is drawn unscaled
        }
        for (size_t n = 0; n < vlen; n++) {
            const float re = z[n].real();
            const float im = z[n].imag();
            if (!std::isfinite(re) || !std::isfinite(im)) {
                bad++;
                continue;
            }
            double x = re, y = im;
            if (d_config.rms_scale) {
                x /= scale;
                y /= scale;
            }
            const double u = (x + E) * su;
            const double v = (E - y) * sv;
            if (!decay) {
                const double col = std::floor(u);
                const double row = std::floor(v);
                if (col >= 0.0 && col < W && row >= 0.0 && row < H) {
                    float& c =
                        counts[static_cast<size_t>(row) * W + static_cast<size_t>(col)];
                    c += 1.0f;
                    peak_count = std::max(peak_count, c);
                }
                continue;
            }
            if (!(std::fabs(u) < 1e9 && std::fabs(v) < 1e9)) {
                continue; // far outside any window
            }
            const long au = std::lrint(u);
            const long av = std::lrint(v);
            const bool deposit = d_fft && av >= d_fft->row_lo && av <= d_fft->row_hi &&
                                 au >= d_fft->col_lo && au <= d_fft->col_hi;
            if (deposit) {
                fft->deposit(
                    av, au, static_cast<float>(u - au), static_cast<float>(v - av));
            } else if (d_fft) {
                // Where the circular convolution would wrap: the same fit, summed here.
                for (size_t k = 0, f = 0; k < d_channels; k++) {
                    if (d_fft_channel[k]) {
                        d_fft->add_far_field(f++,
                                             acc.data() + k * plane,
                                             H,
                                             W,
                                             av,
                                             au,
                                             static_cast<float>(u - au),
                                             static_cast<float>(v - av));
                    }
                }
            }
            // Boxes of the channels summed here: [-b, b], or only the exact near field
            // [-n, n) in an FFT channel.
            small_window boxes[max_small];
            int n_boxes = 0, lo = 0, hi = 0;
            bool small = d_channels <= max_small;
            for (size_t k = 0; k < d_channels && small; k++) {
                const int b = d_config.windows[k];
                const bool near = d_fft_channel[k];
                boxes[k] = { acc.data() + k * plane,
                             near ? -decay_fft::near : -b,
                             near ? decay_fft::near - 1 : b,
                             static_cast<float>(-d_config.rates[k] / dxy) };
                lo = std::min(lo, boxes[k].lo);
                hi = std::max(hi, boxes[k].hi);
                n_boxes++;
            }
            small = small && hi - lo < union_lanes && au + lo >= 0 && au + hi < W;
            if (small) {
                float ux2[union_lanes];
                for (int t = 0; t < union_lanes; t++) {
                    const float dx = static_cast<float>((au + lo + t + 0.5 - u) * di);
                    ux2[t] = dx * dx;
                }
                const long i0 = std::max(av + lo, 0L),
                           i1 = std::min(av + hi, long(H) - 1);
                if (i0 <= i1) {
                    accumulate_small(boxes,
                                     n_boxes,
                                     W,
                                     int(i0),
                                     int(i1),
                                     int(av),
                                     int(au + lo),
                                     lo,
                                     hi,
                                     v,
                                     dq,
                                     ux2);
                }
                continue;
            }
            for (size_t k = 0; k < d_channels; k++) {
                // Window offsets [-b, b]; with the FFT only the exact near field [-n, n).
                const long b = d_config.windows[k];
                const bool near = d_fft_channel[k];
                const long lo = near ? -long(decay_fft::near) : -b;
                const long hi = near ? long(decay_fft::near) - 1 : b;
                const long j0 = std::max(au + lo, 0L),
                           j1 = std::min(au + hi, long(W) - 1);
                const long i0 = std::max(av + lo, 0L),
                           i1 = std::min(av + hi, long(H) - 1);
                if (j0 > j1 || i0 > i1) {
                    continue;
                }
                const long n = (j1 - j0 + column_block) / column_block * column_block;
                for (long t = 0; t < n; t++) {
                    const float dx = static_cast<float>((j0 + t + 0.5 - u) * di);
                    dx2[t] = dx * dx;
                    mask[t] = j0 + t <= j1 ? 1.0f : 0.0f;
                }
                accumulate_window(acc.data() + k * plane,
                                  W,
                                  int(i0),
                                  int(i1),
                                  int(j0),
                                  int(j1),
                                  v,
                                  dq,
                                  dx2.data(),
                                  mask.data(),
                                  static_cast<float>(-d_config.rates[k] / dxy));
            }
        }
        if (fft) {
            fft->finish(fft_dst.data());
        }
        if (invalid) {
            invalid[vec] = bad;
        }
        if (counts != acc.data()) {
            if (d_config.normalise && peak_count > 0.0f) {
                for (size_t p = 0; p < plane; p++) {
                    counts[p] /= peak_count;
                }
            }
            continue;
        }
        for (size_t k = 0; k < d_channels; k++) {
            float* a = acc.data() + k * plane;
            const float peak = d_config.normalise ? channel_peak(a, plane) : 0.0f;
            const bool divide = d_config.normalise && peak > 0.0f;
            T* o = dst + k * plane;
            if constexpr (std::is_same_v<T, float>) {
                emit_channel(a, o, plane, divide ? peak : 1.0f);
                continue;
            }
            for (size_t p = 0; p < plane; p++) {
                const float val = divide ? a[p] / peak : a[p];
                if constexpr (std::is_same_v<T, uint8_t>) {
                    o[p] = static_cast<uint8_t>(
                        std::min(divide ? val * 255.0f : val, 255.0f));
                } else {
                    o[p] = val;
                }
            }
            std::fill(a, a + plane, 0.0f);
        }
    }
}

template <typename T>
void constellation_renderer::render_all(const gr_complex* in,
                                        size_t n_vectors,
                                        size_t vlen,
                                        T* out,
                                        int64_t* invalid,
                                        int threads) const
{
    if (threads < 0) {
        throw std::invalid_argument("threads must be >= 0 (0 = all cores), got " +
                                    std::to_string(threads));
    }
    const size_t cores = std::max(1u, std::thread::hardware_concurrency());
    size_t n_threads = threads == 0 ? cores : std::min<size_t>(threads, cores);
    n_threads = std::min(n_threads, n_vectors);
    if (n_threads <= 1) {
        render_range(in, 0, n_vectors, vlen, out, invalid);
        return;
    }
    std::vector<std::thread> pool;
    pool.reserve(n_threads);
    std::vector<std::exception_ptr> errors(n_threads);
    std::string refused;
    for (size_t t = 0; t < n_threads; t++) {
        const size_t first = n_vectors * t / n_threads;
        const size_t last = n_vectors * (t + 1) / n_threads;
        try {
            pool.emplace_back([=, &errors] {
                try {
                    render_range(in, first, last, vlen, out, invalid);
                } catch (...) {
                    errors[t] = std::current_exception();
                }
            });
        } catch (const std::system_error& e) {
            refused = "the system refused worker thread " + std::to_string(t + 1) +
                      " of " + std::to_string(n_threads) + " (" + e.what() +
                      "): render with fewer threads (threads=1 uses none)";
            break;
        }
    }
    for (auto& th : pool) {
        th.join();
    }
    if (!refused.empty()) {
        throw std::runtime_error(refused);
    }
    for (auto& e : errors) {
        if (e) {
            std::rethrow_exception(e);
        }
    }
}

void constellation_renderer::render(const gr_complex* in,
                                    size_t n_vectors,
                                    size_t vlen,
                                    float* out,
                                    int64_t* invalid,
                                    int threads) const
{
    render_all(in, n_vectors, vlen, out, invalid, threads);
}

void constellation_renderer::render(const gr_complex* in,
                                    size_t n_vectors,
                                    size_t vlen,
                                    uint8_t* out,
                                    int64_t* invalid,
                                    int threads) const
{
    render_all(in, n_vectors, vlen, out, invalid, threads);
}

} // namespace rfml
} // namespace gr
