/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "impairments_impl.h"
#include <gnuradio/io_signature.h>

namespace gr {
namespace rfml {

impairments::sptr impairments::make(const impairment_params& params, uint64_t seed)
{
    return gnuradio::make_block_sptr<impairments_impl>(params, seed);
}

impairments_impl::impairments_impl(const impairment_params& params, uint64_t seed)
    : gr::block("impairments",
                gr::io_signature::make(1, 1, sizeof(gr_complex)),
                gr::io_signature::make(1, 1, sizeof(gr_complex))),
      d_kernel(params, seed)
{
    set_relative_rate(d_kernel.rate());
}

void impairments_impl::set_params(const impairment_params& params)
{
    std::lock_guard<std::mutex> lock(d_mutex);
    d_kernel.set_params(params);
    set_relative_rate(d_kernel.rate());
}

impairment_params impairments_impl::params() const
{
    std::lock_guard<std::mutex> lock(d_mutex);
    return d_kernel.params();
}

uint64_t impairments_impl::samples() const
{
    std::lock_guard<std::mutex> lock(d_mutex);
    return d_kernel.samples();
}

void impairments_impl::forecast(int noutput_items, gr_vector_int& ninput_items_required)
{
    std::lock_guard<std::mutex> lock(d_mutex);
    ninput_items_required[0] =
        static_cast<int>(d_kernel.inputs_for(static_cast<size_t>(noutput_items)));
}

int impairments_impl::general_work(int noutput_items,
                                   gr_vector_int& ninput_items,
                                   gr_vector_const_void_star& input_items,
                                   gr_vector_void_star& output_items)
{
    std::lock_guard<std::mutex> lock(d_mutex);
    size_t consumed = 0;
    const size_t produced =
        d_kernel.process(static_cast<const gr_complex*>(input_items[0]),
                         static_cast<size_t>(ninput_items[0]),
                         static_cast<gr_complex*>(output_items[0]),
                         static_cast<size_t>(noutput_items),
                         consumed);
    consume_each(static_cast<int>(consumed));
    return static_cast<int>(produced);
}

} // namespace rfml
} // namespace gr
