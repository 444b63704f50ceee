/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <gnuradio/rfml/awgn_kernel.h>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace gr {
namespace rfml {

namespace {

// Mean power of L complex samples, summed in double; NaN/Inf propagate.
double power(const gr_complex* x, size_t L)
{
    const float* v = reinterpret_cast<const float*>(x);
    double acc[4] = { 0, 0, 0, 0 };
    size_t k = 0;
    for (; k + 4 <= 2 * L; k += 4) {
        for (size_t j = 0; j < 4; j++) {
            acc[j] += static_cast<double>(v[k + j]) * v[k + j];
        }
    }
    for (; k < 2 * L; k++) {
        acc[0] += static_cast<double>(v[k]) * v[k];
    }
    return (acc[0] + acc[1] + acc[2] + acc[3]) / static_cast<double>(L);
}

// Draws the noise of one vector into w (2L floats) and sets its scale; false for an
// invalid vector (zero power, a NaN/Inf sample, or an SNR so far from the signal's power
// that signal + noise could leave float32's range), whose draws are made all the same.
bool noise_scale(
    const gr_complex* x, size_t L, double snr, gaussian_rng& rng, float* w, float& scale)
{
    const double p_sig = power(x, L);
    rng.fill(w, 2 * L);
    if (!(std::isfinite(p_sig) && p_sig > 0)) {
        return false;
    }
    const double p_noise = power(reinterpret_cast<const gr_complex*>(w), L);
    const double p_target = p_sig / std::pow(10.0, snr / 10.0);
    const double s = std::sqrt(p_target / std::max(p_noise, 1e-30));
    // No component can exceed the vector's root energy: |x_k| <= sqrt(L P_sig) and
    // |s w_k| <= s sqrt(L P_noise); their sum within float32 keeps every output finite.
    const double bound = std::sqrt(L * p_sig) + s * std::sqrt(L * p_noise);
    scale = static_cast<float>(s);
    return scale > 0.0f && bound < 0.5 * std::numeric_limits<float>::max();
}

// The loop both layouts share: per vector, draw its noise and scale, count and flag an
// invalid one, then write(v, xv, ok, scale, w) writes its output.
template <typename Write>
size_t for_each_vector(const gr_complex* x,
                       size_t n_vectors,
                       size_t L,
                       const float* snr_db,
                       size_t snr_stride,
                       gaussian_rng& rng,
                       bool* valid,
                       Write write)
{
    std::vector<float> w(2 * L);
    size_t invalid = 0;
    for (size_t v = 0; v < n_vectors; v++) {
        const gr_complex* xv = x + v * L;
        float scale = 0.0f;
        const bool ok = noise_scale(xv, L, snr_db[v * snr_stride], rng, w.data(), scale);
        invalid += !ok;
        if (valid) {
            valid[v] = ok;
        }
        write(v, xv, ok, scale, w.data());
    }
    return invalid;
}

} // namespace

size_t add_awgn(const gr_complex* x,
                size_t n_vectors,
                size_t L,
                const float* snr_db,
                size_t snr_stride,
                gaussian_rng& rng,
                gr_complex* y,
                gr_complex* noise,
                bool* valid)
{
    return for_each_vector(
        x,
        n_vectors,
        L,
        snr_db,
        snr_stride,
        rng,
        valid,
        [&](size_t v, const gr_complex* xv, bool ok, float scale, const float* w) {
            gr_complex* yv = y + v * L;
            float* nv = noise ? reinterpret_cast<float*>(noise + v * L) : nullptr;
            if (!ok) {
                std::fill(yv, yv + L, gr_complex(0.0f));
                if (nv) {
                    std::fill(nv, nv + 2 * L, 0.0f);
                }
                return;
            }
            const float* xf = reinterpret_cast<const float*>(xv);
            float* yf = reinterpret_cast<float*>(yv);
            for (size_t k = 0; k < 2 * L; k++) {
                const float n = w[k] * scale;
                yf[k] = xf[k] + n;
                if (nv) {
                    nv[k] = n;
                }
            }
        });
}

size_t add_awgn_planar(const gr_complex* x,
                       size_t n_vectors,
                       size_t L,
                       const float* snr_db,
                       size_t snr_stride,
                       gaussian_rng& rng,
                       float* iq,
                       float* clean,
                       bool* valid)
{
    return for_each_vector(
        x,
        n_vectors,
        L,
        snr_db,
        snr_stride,
        rng,
        valid,
        [&](size_t v, const gr_complex* xv, bool ok, float scale, const float* w) {
            float* out = iq + v * 2 * L;
            if (clean) {
                float* c = clean + v * 2 * L;
                for (size_t k = 0; k < L; k++) {
                    c[k] = xv[k].real();
                    c[L + k] = xv[k].imag();
                }
            }
            if (!ok) {
                std::fill(out, out + 2 * L, 0.0f);
                return;
            }
            for (size_t k = 0; k < L; k++) {
                out[k] = xv[k].real() + w[2 * k] * scale;
                out[L + k] = xv[k].imag() + w[2 * k + 1] * scale;
            }
        });
}

} // namespace rfml
} // namespace gr
