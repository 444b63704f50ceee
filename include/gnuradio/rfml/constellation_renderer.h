/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_CONSTELLATION_RENDERER_H
#define INCLUDED_RFML_CONSTELLATION_RENDERER_H

#include <gnuradio/gr_complex.h>
#include <gnuradio/rfml/api.h>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gr {
namespace rfml {

class decay_fft;

/*!
 * \brief Settings of the batched constellation renderer.
 *
 * Geometry (both modes): the image spans [-extent, extent] on I (across the columns,
 * left to right) and on Q (down the rows, +extent in the top row). Pixel (row i,
 * column j) covers I in [-extent + j*dI, -extent + (j+1)*dI) with dI = 2*extent/width,
 * and Q in (extent - (i+1)*dQ, extent - i*dQ] with dQ = 2*extent/height.
 *
 * Histogram mode (one channel): each sample adds 1 to the pixel that contains it.
 *
 * Decay mode (one channel per rate; DenoMAE's enhanced image): a sample at continuous
 * column coordinate u = (I + extent)/dI and row coordinate v = (extent - Q)/dQ is
 * anchored at the pixel corner (rint(v), rint(u)); channel k adds
 * exp(-rates[k] * d / hypot(dI, dQ)) to every pixel (i, j) with |i - rint(v)| <=
 * windows[k] and |j - rint(u)| <= windows[k], where d is the distance between the
 * sample and the pixel centre in I/Q units. Samples outside the image still add to the
 * part of their window that lies inside it.
 *
 * Samples that are NaN or infinite are skipped and counted per vector.
 */
struct RFML_API render_config {
    enum class render_mode { histogram, decay };
    enum class render_method { fft, direct };

    render_mode mode = render_mode::decay;
    /*!
     * How decay channels with windows of at least fft_min_window pixels are summed:
     * fft = a rank-4 least-squares fit in the sub-pixel offset + FFT convolution, with
     * the 8x8 pixels around each sample summed exactly (samples anchored near or past
     * the image edge, where the circular convolution would wrap, add the same fit in the
     * image domain instead; one sample's contribution is off by at most 1.8e-3 of its
     * peak, see
     * max_fit_error(); whole images agree with direct sums within 1e-3 of the channel
     * maximum, a quarter of one uint8 step of 1/255); direct = every window pixel summed
     * directly (float32 exact, about 10x slower).
     * Smaller windows are always summed directly.
     */
    render_method method = render_method::fft;
    static constexpr int fft_min_window = 12;
    //! Largest image height and width accepted, pixels.
    static constexpr int max_size = 8192;
    //! Largest decay window half-width accepted, pixels.
    static constexpr int max_window = 65536;
    //! Accepted extent range (I/Q units) and largest decay rate.
    static constexpr double min_extent = 1e-9;
    static constexpr double max_extent = 1e9;
    static constexpr double max_rate = 1e6;
    int height = 224;
    int width = 224;
    //! Half-width of the plotted square in I/Q units (after RMS scaling if rms_scale).
    double extent = 2.5;
    //! Divide each vector by its RMS amplitude before plotting ("auto" extent).
    bool rms_scale = false;
    //! Decay rates c_k (decay mode); one output channel per rate.
    std::vector<double> rates{ 1.0, 0.2, 0.1 };
    //! Half-widths b_k of the square windows in pixels, one per rate.
    std::vector<int> windows{ 5, 25, 50 };
    //! Divide each channel of each image by its maximum (images with no sample stay 0).
    bool normalise = true;

    //! Parses "histogram" or "decay"; throws std::invalid_argument naming the choices.
    static render_mode parse_mode(const std::string& name);
    //! Parses "fft" or "direct"; throws std::invalid_argument naming the choices.
    static render_method parse_method(const std::string& name);
    //! Parses "max" (true) or "none" (false); throws std::invalid_argument otherwise.
    static bool parse_normalise(const std::string& name);
};

/*!
 * \brief Renders batches of complex vectors into constellation images.
 *
 * Output layout: (n_vectors, channels, height, width), C order. The float output of a
 * normalised image lies in [0, 1]; the uint8 output is floor(255 * value), saturated at
 * 255 (without normalisation the uint8 output is the raw value saturated at 255).
 * In a process, the same input gives the same output whatever the number of threads.
 * FFTW picks its algorithms by timing them when a geometry is first set up, so another
 * process may round the FFT-summed channels differently (by about 1e-7 of the channel
 * maximum); method direct, which uses no FFT, does not vary between processes.
 */
class RFML_API constellation_renderer
{
public:
    //! Validates the settings; throws std::invalid_argument with the reason.
    explicit constellation_renderer(const render_config& config);
    ~constellation_renderer();

    const render_config& config() const { return d_config; }
    int channels() const { return static_cast<int>(d_channels); }
    //! Number of output values per vector: channels * height * width.
    size_t image_size() const;
    /*!
     * Largest error of one sample's contribution in the FFT-summed decay channels,
     * relative to the contribution at the sample (0 where every channel is direct).
     */
    double max_fit_error() const;

    /*!
     * Renders n_vectors vectors of vlen samples each (contiguous).
     * \param invalid if not null, receives the number of skipped NaN/Inf samples of
     *        each vector (n_vectors entries).
     * \param threads worker threads; 0 = all cores. Each thread renders whole images.
     *        More threads than cores (std::thread::hardware_concurrency()) or than
     *        vectors are not started. If the system refuses a thread, the started
     *        ones are joined and std::runtime_error says so.
     */
    void render(const gr_complex* in,
                size_t n_vectors,
                size_t vlen,
                float* out,
                int64_t* invalid,
                int threads) const;
    void render(const gr_complex* in,
                size_t n_vectors,
                size_t vlen,
                uint8_t* out,
                int64_t* invalid,
                int threads) const;

private:
    render_config d_config;
    size_t d_channels;
    std::vector<char> d_fft_channel;        // per channel: summed by d_fft
    std::shared_ptr<const decay_fft> d_fft; // null when every channel is direct

    template <typename T>
    void render_range(const gr_complex* in,
                      size_t first,
                      size_t last,
                      size_t vlen,
                      T* out,
                      int64_t* invalid) const;
    template <typename T>
    void render_all(const gr_complex* in,
                    size_t n_vectors,
                    size_t vlen,
                    T* out,
                    int64_t* invalid,
                    int threads) const;
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_CONSTELLATION_RENDERER_H */
