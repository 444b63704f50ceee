/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_IMPAIRMENTS_H
#define INCLUDED_RFML_IMPAIRMENTS_H

#include <gnuradio/block.h>
#include <gnuradio/rfml/api.h>
#include <gnuradio/rfml/impairment_kernel.h>

namespace gr {
namespace rfml {

/*!
 * \brief The simulated loopback's receive impairments on a complex stream.
 * \ingroup rfml
 *
 * Sample-clock drift (cubic interpolation: about 1 + ppm 1e-6 outputs per input),
 * carrier frequency offset and phase, Wiener phase noise, IQ imbalance and DC offset,
 * in that order, by gr::rfml::impairment_kernel (every quantity from absolute sample
 * indices: the same output bits whatever the buffer sizes, so a seed fixes the
 * output). The simulated radio of rfml.loopback(radio="sim").
 */
class RFML_API impairments : virtual public gr::block
{
public:
    typedef std::shared_ptr<impairments> sptr;

    /*!
     * \param params the impairments (see impairment_params)
     * \param seed seed of the phase noise
     */
    static sptr make(const impairment_params& params, uint64_t seed = 0);

    //! New parameters from the next work() call on (a new frequency keeps the phase).
    virtual void set_params(const impairment_params& params) = 0;
    virtual impairment_params params() const = 0;
    //! Samples output so far.
    virtual uint64_t samples() const = 0;
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_IMPAIRMENTS_H */
