/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_DECAY_FFT_H
#define INCLUDED_RFML_DECAY_FFT_H

#include <fftw3.h>
#include <complex>
#include <memory>
#include <vector>

namespace gr {
namespace rfml {

/*!
 * The wide decay channels as a convolution (internal to the renderer).
 *
 * A sample at continuous pixel coordinates (v, u) has its window anchored at the corner
 * (rint(v), rint(u)) and a sub-pixel offset d = (u - rint(u), v - rint(v)) in
 * [-1/2, 1/2]^2. Its contribution to the pixel at anchor offset o is
 * K(o + 1/2 - d), which is written as sum_l psi_l(d) T_l(o): the least-squares fit
 * of K over a grid of d on the six monomials (1, dx, dy, dx^2, dx*dy, dy^2), cut to
 * the rank-4 basis psi (shared by all channels) that keeps the most of it. So channel
 * k = sum_l conv(D_l, T_kl), where D_l holds psi_l(d) of every sample at its anchor:
 * four FFTs of the deposits, one inverse FFT per channel.
 * The tables leave out the 2*near x 2*near pixels around the anchor (where the cusp of
 * K at the sample makes the fit poor); the caller renders those exactly. The fit error
 * over the rest of the window is measured at construction (max_fit_error()).
 * The FFT is circular: anchors outside [row_lo, row_hi] x [col_lo, col_hi] would wrap
 * around, so the caller renders such samples exactly instead.
 */
class decay_fft
{
public:
    static constexpr int n_monomials = 6;
    //! Planes (FFTs) per image: the best shared basis of this rank within the monomials.
    static constexpr int rank = 4;
    static constexpr int near = 4;

    //! Shared, cached per geometry: height, width, the channels' rates and windows.
    static std::shared_ptr<const decay_fft> get(int height,
                                                int width,
                                                const std::vector<double>& rates,
                                                const std::vector<int>& windows);

    decay_fft(int height,
              int width,
              const std::vector<double>& rates,
              const std::vector<int>& windows);
    ~decay_fft();
    decay_fft(const decay_fft&) = delete;
    decay_fft& operator=(const decay_fft&) = delete;

    int row_lo, row_hi, col_lo, col_hi;
    //! Largest |fitted - exact| of one sample's contribution (exact peak = 1).
    double max_fit_error() const { return d_max_fit_error; }

    //! Per-thread buffers.
    class workspace
    {
    public:
        explicit workspace(const decay_fft& engine);
        ~workspace();
        workspace(const workspace&) = delete;
        workspace& operator=(const workspace&) = delete;

        //! Adds the basis values of one sample at anchor (row, col) (inside the bounds).
        void deposit(long row, long col, float dx, float dy);
        /*!
         * Convolves the deposits and adds channel k of the result to the H x W image
         * dst[k] for every channel; then clears the deposits.
         */
        void finish(float* const* dst);

    private:
        const decay_fft& d_engine;
        float* d_planes;            // rank planes of ny * nx
        fftwf_complex* d_spectra;   // rank spectra of ny * nxc
        fftwf_complex* d_product;   // one spectrum of ny * nxc per channel
        float* d_result;            // ny * nx
        std::vector<size_t> d_used; // deposited plane positions
    };

private:
    int d_height, d_width, d_ny, d_nx, d_nxc;
    size_t d_plane, d_bins; // padded strides of one real plane and one spectrum
    size_t d_channels;
    double d_max_fit_error = 0.0;
    // [channel][bin][basis] kernel spectra, scaled by 1 / (ny * nx).
    std::vector<std::complex<float>> d_kernels;
    fftwf_plan d_forward = nullptr;  // one plane
    fftwf_plan d_backward = nullptr; // one channel

    // Deposit basis: psi_l(d) = sum_m d_project[l][m] * monomial_m(d).
    double d_project[rank * n_monomials];
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_DECAY_FFT_H */
