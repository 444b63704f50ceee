/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_AWGN_KERNEL_H
#define INCLUDED_RFML_AWGN_KERNEL_H

#include <gnuradio/gr_complex.h>
#include <gnuradio/rfml/api.h>
#include <gnuradio/rfml/gaussian_rng.h>
#include <cstddef>
#include <vector>

namespace gr {
namespace rfml {

/*!
 * \brief Complex white Gaussian noise at an exact SNR per vector (rfml.dsp.add_awgn in
 * C++). \ingroup rfml
 *
 * For each of the n_vectors vectors of L samples: the signal power P is measured
 * (mean |x|^2, summed in double), 2L normals are drawn from rng (I and Q interleaved),
 * their power Q measured, and the noise scaled by sqrt(P / 10^(snr/10) / Q) so that
 * the noise power measured over the vector is exactly the target (up to float32
 * rounding of the samples: within 1e-4 dB, tested). A vector with zero power or a
 * NaN/Inf sample is invalid, and so is one whose noise scale is zero or whose output
 * could leave the float32 range (an extreme SNR for its power): its y and noise are
 * zeros and valid[v] is false; its normals are still drawn, so the later vectors do
 * not depend on it. Every output sample is finite.
 *
 * \param x input vectors, n_vectors * L samples
 * \param n_vectors number of vectors
 * \param L samples per vector (>= 1)
 * \param snr_db target SNR in dB: one value per vector, or one for all (snr_stride 0)
 * \param snr_stride 1 (one per vector) or 0 (snr_db[0] for all)
 * \param rng source of the noise
 * \param y output x + noise (may be x itself)
 * \param noise output noise, or nullptr
 * \param valid output, one per vector, or nullptr
 * \return the number of invalid vectors
 */
RFML_API size_t add_awgn(const gr_complex* x,
                         size_t n_vectors,
                         size_t L,
                         const float* snr_db,
                         size_t snr_stride,
                         gaussian_rng& rng,
                         gr_complex* y,
                         gr_complex* noise,
                         bool* valid);

/*!
 * \brief add_awgn writing signal and noisy vectors as (n, 2, L) float32 planes.
 * \ingroup rfml
 *
 * The same noise and result as add_awgn (same rng draws), but the outputs are written
 * the way gr-rfml data sets store them: vector v as L in-phase values followed by L
 * quadrature values, for the clean input (clean, may be nullptr) and the noisy output
 * (iq). Saves the conversion of two complex arrays after the noise.
 */
RFML_API size_t add_awgn_planar(const gr_complex* x,
                                size_t n_vectors,
                                size_t L,
                                const float* snr_db,
                                size_t snr_stride,
                                gaussian_rng& rng,
                                float* iq,
                                float* clean,
                                bool* valid);

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_AWGN_KERNEL_H */
