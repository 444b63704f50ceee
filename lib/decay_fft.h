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
 * K(o + 1/2 - d), which is written as sum_m phi_m(d) T_m(o) with the six monomials
 * phi = (1, dx, dy, dx^2, dx*dy, dy^2) and tables T_m fitted by least squares over a
 * grid of d. So channel k = sum_m conv(D_m, T_km), where D_m holds phi_m(d) of every
 * sample at its anchor: six FFTs of the deposits, one inverse FFT per channel.
 * The tables leave out the 2*near x 2*near pixels around the anchor (where the cusp of
 * K at the sample makes the fit poor); the caller renders those exactly. The fit error
 * over the rest of the window is measured at construction (max_fit_error()).
 * The FFT is circular: anchors outside [row_lo, row_hi] x [col_lo, col_hi] would wrap
 * around, so the caller renders such samples exactly instead.
 */
class decay_fft
{
public:
    static constexpr int n_basis = 6;
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
        float* d_planes;            // n_basis planes of ny * nx
        fftwf_complex* d_spectra;   // n_basis spectra of ny * nxc
        fftwf_complex* d_product;   // ny * nxc
        float* d_result;            // ny * nx
        std::vector<size_t> d_used; // deposited plane positions
    };

private:
    int d_height, d_width, d_ny, d_nx, d_nxc;
    size_t d_channels;
    double d_max_fit_error = 0.0;
    // [channel][bin][basis] kernel spectra, scaled by 1 / (ny * nx).
    std::vector<std::complex<float>> d_kernels;
    fftwf_plan d_forward = nullptr;  // n_basis planes at once
    fftwf_plan d_backward = nullptr; // one channel

    void fit_tables(std::vector<double>& tables,
                    double rate,
                    int window,
                    double di,
                    double dq);
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_DECAY_FFT_H */
