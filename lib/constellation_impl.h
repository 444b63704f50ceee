/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_CONSTELLATION_IMPL_H
#define INCLUDED_RFML_CONSTELLATION_IMPL_H

#include <gnuradio/rfml/constellation.h>
#include <gnuradio/rfml/constellation_renderer.h>
#include <atomic>

namespace gr {
namespace rfml {

class constellation_impl : public constellation
{
private:
    const int d_vector_length;
    const int d_threads;
    const constellation_renderer d_renderer;
    std::vector<int64_t> d_invalid;
    std::atomic<uint64_t> d_invalid_samples{ 0 };
    std::atomic<uint64_t> d_invalid_vectors{ 0 };

public:
    constellation_impl(int vector_length, const render_config& config, int threads);

    int channels() const override { return d_renderer.channels(); }
    uint64_t invalid_samples() const override { return d_invalid_samples; }
    uint64_t invalid_vectors() const override { return d_invalid_vectors; }

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_CONSTELLATION_IMPL_H */
