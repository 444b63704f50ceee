/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_CONSTELLATION_H
#define INCLUDED_RFML_CONSTELLATION_H

#include <gnuradio/rfml/api.h>
#include <gnuradio/sync_block.h>
#include <cstdint>
#include <string>
#include <vector>

namespace gr {
namespace rfml {

/*!
 * \brief Constellation images of complex vectors (histogram or DenoMAE decay mode).
 * \ingroup rfml
 *
 * Input: complex vectors of length vector_length. Output: float vectors of
 * channels * height * width values, one image per input vector in (C, H, W) order.
 * Every work() call renders all available vectors at once through
 * gr::rfml::constellation_renderer (see its documentation for the geometry).
 * NaN/Inf samples are skipped and counted; the block logs a warning when a vector had
 * any and keeps running. A rendering error (the system refusing a worker thread) is
 * logged and ends the block's stream, so the flowgraph finishes instead of hanging.
 */
class RFML_API constellation : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<constellation> sptr;

    /*!
     * \param vector_length samples per input vector
     * \param mode "decay" (one channel per rate) or "histogram" (one channel)
     * \param height image rows
     * \param width image columns
     * \param extent half-width of the plotted square in I/Q units
     * \param rms_scale divide each vector by its RMS first (the "auto" extent)
     * \param rates decay rates, one channel each (decay mode)
     * \param windows half-widths of the decay windows in pixels, one per rate
     * \param normalise "auto" (max for decay, none for histogram), "max" or "none"
     * \param threads worker threads; 0 = all cores
     */
    static sptr make(int vector_length,
                     const std::string& mode = "decay",
                     int height = 224,
                     int width = 224,
                     double extent = 2.5,
                     bool rms_scale = false,
                     const std::vector<double>& rates = { 1.0, 0.2, 0.1 },
                     const std::vector<int>& windows = { 5, 25, 50 },
                     const std::string& normalise = "auto",
                     int threads = 0);

    //! Output channels C of each image.
    virtual int channels() const = 0;
    //! NaN/Inf samples skipped since the start.
    virtual uint64_t invalid_samples() const = 0;
    //! Vectors that had at least one NaN/Inf sample since the start.
    virtual uint64_t invalid_vectors() const = 0;
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_CONSTELLATION_H */
