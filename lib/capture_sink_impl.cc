/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "capture_sink_impl.h"
#include <gnuradio/io_signature.h>
#include <algorithm>
#include <stdexcept>
#include <string>

namespace gr {
namespace rfml {

capture_sink::sptr capture_sink::make(const std::vector<int64_t>& starts, int length)
{
    return gnuradio::make_block_sptr<capture_sink_impl>(starts, length);
}

capture_sink_impl::capture_sink_impl(const std::vector<int64_t>& starts, int length)
    : gr::sync_block("capture_sink",
                     gr::io_signature::make(1, 1, sizeof(gr_complex)),
                     gr::io_signature::make(0, 0, 0)),
      d_starts(starts),
      d_length(length)
{
    if (length < 1) {
        throw std::invalid_argument("capture_sink: length must be >= 1, got " +
                                    std::to_string(length));
    }
    if (starts.empty()) {
        throw std::invalid_argument("capture_sink: give at least one start index");
    }
    for (size_t k = 0; k < starts.size(); k++) {
        if (starts[k] < 0 || (k && starts[k] < starts[k - 1])) {
            throw std::invalid_argument(
                "capture_sink: starts must be increasing and >= 0 (index " +
                std::to_string(k) + " is " + std::to_string(starts[k]) + ")");
        }
    }
    d_data.resize(starts.size() * static_cast<size_t>(length));
}

uint64_t capture_sink_impl::total() const
{
    return static_cast<uint64_t>(d_starts.back()) + static_cast<uint64_t>(d_length);
}

int capture_sink_impl::work(int noutput_items,
                            gr_vector_const_void_star& input_items,
                            gr_vector_void_star& output_items)
{
    const auto* in = static_cast<const gr_complex*>(input_items[0]);
    const int64_t lo = static_cast<int64_t>(d_position.load());
    const int64_t hi = lo + noutput_items;
    // Vectors overlapping [lo, hi), from the first incomplete one on.
    for (size_t k = d_first; k < d_starts.size() && d_starts[k] < hi; k++) {
        const int64_t a = std::max(d_starts[k], lo);
        const int64_t b = std::min(d_starts[k] + d_length, hi);
        std::copy(in + (a - lo),
                  in + (b - lo),
                  d_data.begin() + static_cast<int64_t>(k) * d_length +
                      (a - d_starts[k]));
        if (d_starts[k] + d_length <= hi) {
            d_first = k + 1;
        }
    }
    d_position = static_cast<uint64_t>(hi);
    return static_cast<uint64_t>(hi) >= total() ? WORK_DONE : noutput_items;
}

} // namespace rfml
} // namespace gr
