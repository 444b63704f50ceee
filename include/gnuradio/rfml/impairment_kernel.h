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
#include <cstddef>
#include <cstdint>

namespace gr {
namespace rfml {

/*!
 * \brief The receive impairments of the simulated loopback (all but the clock drift).
 * \ingroup rfml
 *
 * Fields as in rfml.dsp.Impairments: carrier frequency offset (cycles per sample) and
 * phase at the first sample (rad), Wiener phase noise (rad per sqrt(sample)), IQ
 * imbalance (gain dB, phase degrees; I stays, Q' = g cos(phi) Q - g sin(phi) I), DC.
 */
struct RFML_API impairment_params {
    double freq_offset = 0.0;
    double phase = 0.0;
    double phase_noise_std = 0.0;
    double iq_gain_db = 0.0;
    double iq_phase_deg = 0.0;
    gr_complex dc_offset = 0.0f;

    //! Throws std::invalid_argument naming the field that is not finite or negative.
    void check() const;
};

/*!
 * \brief rfml.dsp.apply_impairments in C++ for one stream, buffer by buffer.
 * \ingroup rfml
 *
 * Sample n (counted from the start of the stream) is rotated by
 * phase + 2 pi frac(f n) + w_n, where w_n is the sum of the first n+1 phase-noise steps
 * (float32 normals from gaussian_rng times the standard deviation, summed in double):
 * every quantity comes from the absolute sample index, so the output is the same bits
 * however the stream is cut into buffers. The rotation angle is reduced to [-pi, pi)
 * in double and applied in float32 (the sine and cosine within 1 ulp of float32);
 * IQ imbalance and DC follow in float32. Against the float64 reference the output
 * agrees within 1e-6 of the input amplitude per sample (tested).
 *
 * A new frequency offset takes effect with a continuous phase; the other parameters
 * take effect from the next sample.
 */
class RFML_API impairment_kernel
{
public:
    impairment_kernel(const impairment_params& params, uint64_t seed);

    //! Impair n samples of the stream (in and out may be the same array).
    void process(const gr_complex* in, gr_complex* out, size_t n);

    //! New parameters from the next sample on (phase: ignored after the start).
    void set_params(const impairment_params& params);
    const impairment_params& params() const { return d_params; }

    //! Samples processed so far.
    uint64_t samples() const { return d_n; }

private:
    impairment_params d_params;
    gaussian_rng d_rng;
    uint64_t d_n = 0;    // samples so far
    double d_freq = 0.0; // frequency in use since sample d_n_ref
    uint64_t d_n_ref =
        0; // the carrier phase is d_phase_ref + 2 pi frac(d_freq (n - n_ref))
    double d_phase_ref = 0.0;
    double d_wiener = 0.0; // phase-noise phase of the last sample
    float d_iq_a = 1.0f;   // Q' = a Q - b I
    float d_iq_b = 0.0f;
    bool d_iq = false;
    bool d_rotate = false;
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_IMPAIRMENT_KERNEL_H */
