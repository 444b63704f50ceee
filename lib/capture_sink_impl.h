/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_CAPTURE_SINK_IMPL_H
#define INCLUDED_RFML_CAPTURE_SINK_IMPL_H

#include <gnuradio/rfml/capture_sink.h>
#include <atomic>

namespace gr {
namespace rfml {

class capture_sink_impl : public capture_sink
{
private:
    const std::vector<int64_t> d_starts;
    const int d_length;
    std::vector<gr_complex> d_data;
    std::atomic<uint64_t> d_position{ 0 };
    size_t d_first = 0; // the first vector not yet complete

public:
    capture_sink_impl(const std::vector<int64_t>& starts, int length);

    const std::vector<gr_complex>& vectors() const override { return d_data; }
    uint64_t position() const override { return d_position; }
    uint64_t total() const override;
    size_t n_vectors() const override { return d_starts.size(); }
    int length() const override { return d_length; }

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_CAPTURE_SINK_IMPL_H */
