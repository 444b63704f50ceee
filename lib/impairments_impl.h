/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_IMPAIRMENTS_IMPL_H
#define INCLUDED_RFML_IMPAIRMENTS_IMPL_H

#include <gnuradio/rfml/impairments.h>
#include <mutex>

namespace gr {
namespace rfml {

class impairments_impl : public impairments
{
private:
    mutable std::mutex d_mutex; // set_params() from other threads
    impairment_kernel d_kernel;

public:
    impairments_impl(const impairment_params& params, uint64_t seed);

    void set_params(const impairment_params& params) override;
    impairment_params params() const override;
    uint64_t samples() const override;

    void forecast(int noutput_items, gr_vector_int& ninput_items_required) override;
    int general_work(int noutput_items,
                     gr_vector_int& ninput_items,
                     gr_vector_const_void_star& input_items,
                     gr_vector_void_star& output_items) override;
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_IMPAIRMENTS_IMPL_H */
