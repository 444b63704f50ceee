/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <gnuradio/rfml/impairment_kernel.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace gr {
namespace rfml {

namespace {

constexpr double two_pi = 6.283185307179586;
constexpr double half_pi = 1.5707963267948966;
constexpr double two_over_pi = 0.6366197723675814;

// Frequency in cycles per sample as a 64-bit phase increment (turns * 2^64, modulo
// 2^64): the phase of sample n is then inc * n, exact in integer arithmetic.
uint64_t phase_increment(double f)
{
    double r = f - std::round(f); // [-0.5, 0.5]
    if (r >= 0.5) {
        r -= 1.0;
    }
    return static_cast<uint64_t>(std::llround(std::ldexp(r, 64)));
}

// A 64-bit phase as turns in [-0.5, 0.5).
inline double turns_of(uint64_t phase)
{
    return static_cast<double>(static_cast<int64_t>(phase)) * 0x1p-64;
}

// Round to the nearest integer without a library call or a branch, |v| < 2^51: the
// integer as a double and its low 32 bits.
constexpr double round_magic = 6755399441055744.0; // 1.5 * 2^52
inline double round_fast(double v, int32_t& low_bits)
{
    const double shifted = v + round_magic;
    int64_t bits;
    std::memcpy(&bits, &shifted, sizeof bits);
    low_bits = static_cast<int32_t>(bits);
    return shifted - round_magic;
}

// sin and cos of r + q pi/2 for r in [-pi/4, pi/4] (Cephes' single-precision
// minimax polynomials, within 2 float32 ulps of 1), branch-free so loops vectorise.
inline void sincos_quadrant(float r, int32_t q, float& s_out, float& c_out)
{
    const float z = r * r;
    const float s =
        r + r * z * (-1.6666654611e-1f + z * (8.3321608736e-3f + z * -1.9515295891e-4f));
    const float c = 1.0f - 0.5f * z +
                    z * z *
                        (4.166664568298827e-2f +
                         z * (-1.388731625493765e-3f + z * 2.443315711809948e-5f));
    const bool swap = q & 1;
    const float ss = swap ? c : s;
    const float cc = swap ? s : c;
    s_out = (q & 2) ? -ss : ss;
    c_out = ((q + 1) & 2) ? -cc : cc;
}

void check_finite(double v, const char* name)
{
    if (!std::isfinite(v)) {
        throw std::invalid_argument(std::string("impairments: ") + name +
                                    " must be finite, got " + std::to_string(v));
    }
}

// Block of samples handled per pass: the angles are computed first (float), then
// applied in a loop the compiler can vectorise.
constexpr size_t block = 1024;

} // namespace

void impairment_params::check() const
{
    check_finite(freq_offset, "freq_offset");
    check_finite(phase, "phase");
    check_finite(phase_noise_std, "phase_noise_std");
    check_finite(timing_drift_ppm, "timing_drift_ppm");
    check_finite(iq_gain_db, "iq_gain_db");
    check_finite(iq_phase_deg, "iq_phase_deg");
    check_finite(dc_offset.real(), "dc_offset (real part)");
    check_finite(dc_offset.imag(), "dc_offset (imaginary part)");
    if (phase_noise_std < 0) {
        throw std::invalid_argument("impairments: phase_noise_std must be >= 0, got " +
                                    std::to_string(phase_noise_std));
    }
    if (timing_drift_ppm <= -1e6) {
        throw std::invalid_argument("impairments: timing_drift_ppm must be > -1e6, got " +
                                    std::to_string(timing_drift_ppm));
    }
}

impairment_kernel::impairment_kernel(const impairment_params& params, uint64_t seed)
    : d_rng(seed)
{
    params.check();
    d_freq = params.freq_offset;
    d_inc = phase_increment(d_freq);
    d_phase_ref = params.phase;
    d_step = 1.0 / (1.0 + params.timing_drift_ppm * 1e-6);
    set_params(params);
}

void impairment_kernel::set_params(const impairment_params& params)
{
    params.check();
    if (params.freq_offset != d_freq) { // keep the phase continuous: rebase at sample n
        d_phase_ref =
            std::fmod(d_phase_ref + two_pi * turns_of(d_inc * (d_n - d_n_ref)), two_pi);
        d_n_ref = d_n;
        d_freq = params.freq_offset;
        d_inc = phase_increment(d_freq);
    }
    const double step = 1.0 / (1.0 + params.timing_drift_ppm * 1e-6);
    if (step != d_step) { // keep the sampling instants continuous: rebase at output k
        d_t_ref = d_t_ref + static_cast<double>(d_n - d_k_ref) * d_step;
        d_k_ref = d_n;
        d_step = step;
    }
    d_drift = d_drift || params.timing_drift_ppm != 0;
    const double g = std::pow(10.0, params.iq_gain_db / 20.0);
    const double phi = params.iq_phase_deg * (M_PI / 180.0);
    d_iq = params.iq_gain_db != 0 || params.iq_phase_deg != 0;
    d_iq_a = static_cast<float>(g * std::cos(phi));
    d_iq_b = static_cast<float>(g * std::sin(phi));
    d_params = params;
}

size_t impairment_kernel::process(
    const gr_complex* in, size_t n_in, gr_complex* out, size_t max_out, size_t& consumed)
{
    if (!d_drift) {
        const size_t n = std::min(n_in, max_out);
        impair(in, out, n);
        consumed = n;
        d_in_base += static_cast<int64_t>(n);
        return n;
    }
    // Cubic Lagrange interpolation at input instants t_k = t_ref + (k - k_ref) step
    // (rfml.dsp._cubic_resample); input -1 is taken as input 0. Output k needs inputs up
    // to floor(t_k) + 2, so the outputs possible now are those with t_k < last - 1.
    const double last = static_cast<double>(d_in_base + static_cast<int64_t>(n_in) - 1);
    auto instant = [this](size_t k) {
        return d_t_ref + static_cast<double>(d_n + k - d_k_ref) * d_step;
    };
    size_t produced = 0;
    if (n_in > 0 && instant(0) < last - 1) {
        const double room =
            (last - 1 - instant(0)) / d_step; // about the outputs possible
        produced = std::min(max_out, static_cast<size_t>(room) + 2);
        while (produced > 0 && !(instant(produced - 1) < last - 1)) {
            produced--;
        }
    }
    const double base = static_cast<double>(d_in_base);
    int32_t rel[block]; // floor(t_k) - d_in_base
    float mu[block];    // t_k - floor(t_k)
    float w[block][4];  // the four tap weights of each output, side by side
    for (size_t done = 0; done < produced; done += block) {
        const size_t m = std::min(block, produced - done);
        // (d_n + done + k - d_k_ref) as a double, exactly (integers below 2^53)
        const double k0 = static_cast<double>(d_n + done - d_k_ref);
        for (size_t k = 0; k < m; k++) { // t_k >= 0: truncation is floor
            const double t =
                d_t_ref + (k0 + static_cast<double>(static_cast<int32_t>(k))) * d_step -
                base;
            rel[k] = static_cast<int32_t>(t);
            mu[k] = static_cast<float>(t - static_cast<double>(rel[k]));
        }
        for (size_t k = 0; k < m; k++) { // the Lagrange weights, in float32
            const float u = mu[k];
            const float a = (u + 1) * (u - 2), b = u * (u - 1);
            w[k][0] = b * (u - 2) * (-1.0f / 6);
            w[k][1] = a * (u - 1) * 0.5f;
            w[k][2] = a * u * -0.5f;
            w[k][3] = b * (u + 1) * (1.0f / 6);
        }
        const float* xf = reinterpret_cast<const float*>(in);
        float* yf = reinterpret_cast<float*>(out + done);
        for (size_t k = 0; k < m; k++) {
            const float* x = xf + 2 * rel[k];                   // input floor(t_k)
            const float* xm = xf + 2 * std::max(rel[k] - 1, 0); // only output 0 clamps
            const float* c = w[k];
            yf[2 * k] = c[0] * xm[0] + c[1] * x[0] + c[2] * x[2] + c[3] * x[4];
            yf[2 * k + 1] = c[0] * xm[1] + c[1] * x[1] + c[2] * x[3] + c[3] * x[5];
        }
    }
    // Inputs before the next output's first tap are not needed again.
    const int64_t keep = static_cast<int64_t>(instant(produced)) - 1;
    consumed = static_cast<size_t>(
        std::clamp<int64_t>(keep - d_in_base, 0, static_cast<int64_t>(n_in)));
    d_in_base += static_cast<int64_t>(consumed);
    impair(out, out, produced);
    return produced;
}

void impairment_kernel::impair(const gr_complex* in, gr_complex* out, size_t n)
{
    const bool noise = d_params.phase_noise_std > 0;
    const bool rotate = noise || d_inc != 0 || d_phase_ref != 0;
    const float sigma = static_cast<float>(d_params.phase_noise_std);
    const gr_complex dc = d_params.dc_offset;
    float step[block];
    float rest[block]; // angle - q pi/2, in [-pi/4, pi/4]
    int32_t quadrant[block];
    for (size_t done = 0; done < n; done += block) {
        const size_t m = std::min(block, n - done);
        const gr_complex* x = in + done;
        gr_complex* y = out + done;
        if (rotate) {
            if (noise) {
                d_rng.fill(step, m);
            }
            // The angles in double: carrier from the absolute index, plus the walk.
            uint64_t phase = d_inc * (d_n - d_n_ref);
            for (size_t k = 0; k < m; k++, phase += d_inc) {
                double a = d_phase_ref + two_pi * turns_of(phase);
                if (noise) {
                    d_wiener += static_cast<double>(step[k] * sigma);
                    a += d_wiener;
                }
                const double q = round_fast(a * two_over_pi, quadrant[k]);
                rest[k] = static_cast<float>(a - q * half_pi);
            }
            // sin and cos of each angle and the rotation (a loop the compiler
            // vectorises).
            for (size_t k = 0; k < m; k++) {
                float s, c;
                sincos_quadrant(rest[k], quadrant[k], s, c);
                const float re = x[k].real();
                const float im = x[k].imag();
                y[k] = gr_complex(re * c - im * s, re * s + im * c);
            }
            x = y;
        }
        if (d_iq) {
            for (size_t k = 0; k < m; k++) {
                y[k] =
                    gr_complex(x[k].real(), d_iq_a * x[k].imag() - d_iq_b * x[k].real());
            }
            x = y;
        }
        if (dc != gr_complex(0.0f)) {
            for (size_t k = 0; k < m; k++) {
                y[k] = x[k] + dc;
            }
            x = y;
        }
        if (x != y) {
            std::copy(x, x + m, y);
        }
        d_n += m;
    }
}

} // namespace rfml
} // namespace gr
