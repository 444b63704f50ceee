/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_IMPAIRMENT_KERNEL_H
#define INCLUDED_RFML_IMPAIRMENT_KERNEL_H

#include <gnuradio/gr_complex.h>
#include <gnuradio/rfml/api.h>
#include <gnuradio/rfml/gaussian_rng.h>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace gr {
namespace rfml {

/*!
 * \brief The receive impairments of the simulated loopback.
 * \ingroup rfml
 *
 * Fields as in rfml.dsp.Impairments: sample-clock drift (ppm: the receive clock
 * fast by this much), carrier frequency offset (cycles per sample) and phase at the
 * first sample (rad), Wiener phase noise (rad per sqrt(sample)), IQ imbalance (gain
 * dB, phase degrees; I stays, Q' = g cos(phi) Q - g sin(phi) I), DC.
 */
struct RFML_API impairment_params {
    double timing_drift_ppm = 0.0;
    double freq_offset = 0.0;
    double phase = 0.0;
    double phase_noise_std = 0.0;
    double iq_gain_db = 0.0;
    double iq_phase_deg = 0.0;
    gr_complex dc_offset = 0.0f;

    //! Throws std::invalid_argument naming the field that is out of range.
    void check() const;
};

/*!
 * \brief rfml.dsp.apply_impairments in C++ for one stream, buffer by buffer.
 * \ingroup rfml
 *
 * With a clock drift, output k is the input interpolated (cubic Lagrange, double
 * weights rounded to float32) at input instant k / (1 + ppm 1e-6), as
 * rfml.dsp._cubic_resample; without one, output k is input k. Output sample n (counted
 * from the start of the stream) is rotated by phase + 2 pi frac(f n) + w_n, where f n is
 * computed in 64-bit fixed point (exact modulo 1; f to 2^-64 cycles per sample) and w_n
 * is the sum of the first n+1 phase-noise steps (float32 normals from gaussian_rng times
 * the standard deviation, summed in double): every quantity comes from the absolute
 * sample index, so the output is the same bits however the stream is cut into buffers.
 * The angle, reduced by quarter turns in double, is applied in float32 (sine and cosine
 * by minimax polynomials within 2 float32 ulps); IQ imbalance and DC follow in float32.
 * Against the float64 reference the output agrees within 2e-6 of the input's largest
 * amplitude (tested).
 *
 * A new frequency offset takes effect with a continuous phase; the other parameters
 * take effect from the next sample.
 */
class RFML_API impairment_kernel
{
public:
    impairment_kernel(const impairment_params& params, uint64_t seed);

    /*!
     * \brief Impair the next samples of the stream.
     *
     * Writes at most max_out outputs and sets consumed to the inputs that are no
     * longer needed (the caller passes the rest again, first, in the next call).
     * Without a clock drift, produced = consumed = min(n_in, max_out) and in and out
     * may be the same array.
     * \return the number of outputs written
     */
    size_t process(const gr_complex* in,
                   size_t n_in,
                   gr_complex* out,
                   size_t max_out,
                   size_t& consumed);

    //! Inputs needed for n more outputs (an upper bound).
    size_t inputs_for(size_t n_out) const
    {
        return d_drift
                   ? static_cast<size_t>(std::ceil(static_cast<double>(n_out) * d_step)) +
                         4
                   : n_out;
    }

    //! Output samples per input sample, 1 / step.
    double rate() const { return 1.0 / d_step; }

    //! New parameters from the next sample on (phase: ignored after the start; a new
    //! frequency keeps the carrier phase continuous, a new drift the sampling instants).
    void set_params(const impairment_params& params);
    const impairment_params& params() const { return d_params; }

    //! Samples processed so far.
    uint64_t samples() const { return d_n; }

private:
    void impair(const gr_complex* in, gr_complex* out, size_t n);

    impairment_params d_params;
    gaussian_rng d_rng;
    uint64_t d_n = 0; // output samples so far
    // The carrier phase of output n is d_phase_ref + 2 pi turns, turns = d_inc (n -
    // d_n_ref) / 2^64 modulo 1: d_freq as a 64-bit phase increment, exact whatever the
    // buffers.
    double d_freq = 0.0;
    uint64_t d_inc = 0;
    uint64_t d_n_ref = 0;
    double d_phase_ref = 0.0;
    double d_wiener = 0.0; // phase-noise phase of the last output
    float d_iq_a = 1.0f;   // IQ imbalance: Q' = a Q - b I
    float d_iq_b = 0.0f;
    bool d_iq = false;
    // Output k is at input instant d_t_ref + (k - d_k_ref) d_step; interpolated once a
    // drift was set (d_drift), else output k is input k.
    bool d_drift = false;
    double d_step = 1.0;
    double d_t_ref = 0.0;
    uint64_t d_k_ref = 0;
    int64_t d_in_base = 0; // absolute index of in[0] in the next process() call
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_IMPAIRMENT_KERNEL_H */
