/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "constellation_impl.h"
#include <gnuradio/io_signature.h>
#include <exception>
#include <stdexcept>

namespace gr {
namespace rfml {

namespace {

render_config make_config(const std::string& mode,
                          int height,
                          int width,
                          double extent,
                          bool rms_scale,
                          const std::vector<double>& rates,
                          const std::vector<int>& windows,
                          const std::string& normalise)
{
    render_config config;
    config.mode = render_config::parse_mode(mode);
    config.height = height;
    config.width = width;
    config.extent = extent;
    config.rms_scale = rms_scale;
    config.rates = rates;
    config.windows = windows;
    config.normalise = normalise == "auto"
                           ? config.mode == render_config::render_mode::decay
                           : render_config::parse_normalise(normalise);
    return config;
}

int checked_vector_length(int vector_length)
{
    if (vector_length < 1) {
        throw std::invalid_argument("vector_length must be at least 1, got " +
                                    std::to_string(vector_length));
    }
    return vector_length;
}

} // namespace

constellation::sptr constellation::make(int vector_length,
                                        const std::string& mode,
                                        int height,
                                        int width,
                                        double extent,
                                        bool rms_scale,
                                        const std::vector<double>& rates,
                                        const std::vector<int>& windows,
                                        const std::string& normalise,
                                        int threads)
{
    if (threads < 0) {
        throw std::invalid_argument("threads must be >= 0 (0 = all cores), got " +
                                    std::to_string(threads));
    }
    return gnuradio::make_block_sptr<constellation_impl>(
        checked_vector_length(vector_length),
        make_config(mode, height, width, extent, rms_scale, rates, windows, normalise),
        threads);
}

constellation_impl::constellation_impl(int vector_length,
                                       const render_config& config,
                                       int threads)
    : gr::sync_block(
          "constellation",
          gr::io_signature::make(1, 1, sizeof(gr_complex) * vector_length),
          gr::io_signature::make(
              1, 1, sizeof(float) * constellation_renderer(config).image_size())),
      d_vector_length(vector_length),
      d_threads(threads),
      d_renderer(config)
{
}

int constellation_impl::work(int noutput_items,
                             gr_vector_const_void_star& input_items,
                             gr_vector_void_star& output_items)
{
    const auto* in = static_cast<const gr_complex*>(input_items[0]);
    auto* out = static_cast<float*>(output_items[0]);
    d_invalid.resize(noutput_items);
    try {
        d_renderer.render(
            in, noutput_items, d_vector_length, out, d_invalid.data(), d_threads);
    } catch (const std::exception& e) {
        // An exception would end this block's thread and leave the flowgraph waiting.
        d_logger->error("{}; the block ends its stream, so the flowgraph stops",
                        e.what());
        return WORK_DONE;
    }

    uint64_t samples = 0, vectors = 0;
    for (int i = 0; i < noutput_items; i++) {
        samples += d_invalid[i];
        vectors += d_invalid[i] > 0;
    }
    if (vectors) {
        d_invalid_samples += samples;
        d_invalid_vectors += vectors;
        d_logger->warn(
            "skipped {} NaN/Inf samples in {} of {} vectors ({} vectors so far); "
            "check the source or the gain before this block",
            samples,
            vectors,
            noutput_items,
            d_invalid_vectors.load());
    }
    return noutput_items;
}

} // namespace rfml
} // namespace gr
