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
 * around, so the caller adds the far field of such samples with add_far_field() (the
 * same fit, summed in the image domain) instead.
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

    /*!
     * Adds the far field of one sample (everything but the near field) to channel k's
     * H x W accumulator from the same rank-4 fit, in the image domain: for samples
     * anchored where the circular convolution would wrap (near or past the edge).
     */
    void add_far_field(size_t channel,
                       float* acc,
                       int height,
                       int width,
                       long row,
                       long col,
                       float dx,
                       float dy) const;
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
         *
         * Row-column FFTs: r2c of the rows that hold deposits only; then, one spectrum
         * column at a time (in cache), the column FFTs of every plane, the products with
         * the kernel spectra and the inverse column FFTs of every channel; last the c2r
         * of the H rows that are output.
         */
        void finish(float* const* dst);

    private:
        const decay_fft& d_engine;
        // The deposits of the image (plane row, column, basis values), in sample order.
        struct deposit_value {
            int row, col;
            float psi[rank];
        };
        std::vector<deposit_value> d_deposits;
        std::vector<int>
            d_row_start; // d_sorted[d_row_start[r]:d_row_start[r + 1]] in row r
        std::vector<int> d_row_next;
        std::vector<deposit_value> d_sorted;
        float* d_line_in;        // rank real rows (d_line_stride): one row of every plane
        fftwf_complex* d_rows;   // rank planes of ny x stride, zero but row_used
        fftwf_complex* d_column; // (rank + channels) x ny: one spectrum column
        fftwf_complex* d_channel; // channels x ny x stride
        float* d_line;            // one output row of nx
    };

private:
    int d_height, d_width, d_ny, d_nx, d_nxc;
    size_t d_plane;       // padded stride of one real plane
    size_t d_stride;      // complex row stride of the row spectra (32-byte multiple)
    size_t d_line_stride; // float stride of the real rows (32-byte multiple)
    size_t d_bins;        // ny * d_stride
    size_t d_channels;
    double d_max_fit_error = 0.0;
    // Kernel spectra scaled by 1 / (ny * nx), complex (re, im), in the order finish()
    // reads them: [column][channel][basis][row].
    std::vector<float> d_kernels;
    size_t kernel_index(int row, int col, size_t channel, int basis) const
    {
        return ((static_cast<size_t>(col) * d_channels + channel) * rank + basis) * d_ny +
               row;
    }
    fftwf_plan d_row_forward = nullptr;  // r2c of one row
    fftwf_plan d_row_backward = nullptr; // c2r of one row
    // [even or odd column] one column of the row spectra -> contiguous, and back
    fftwf_plan d_col_forward[2] = { nullptr, nullptr };
    fftwf_plan d_col_backward[2] = { nullptr, nullptr };

    // Deposit basis: psi_l(d) = sum_m d_project[l][m] * monomial_m(d).
    double d_project[rank * n_monomials];
    void basis(float dx, float dy, float* psi) const;
    std::vector<int> d_windows;
    // Per channel: rank tables of (2b+1)^2 far-field values, offsets (oy, ox) row-major.
    std::vector<std::vector<float>> d_tables;
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_DECAY_FFT_H */
