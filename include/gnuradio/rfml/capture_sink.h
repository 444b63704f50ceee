/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_CAPTURE_SINK_H
#define INCLUDED_RFML_CAPTURE_SINK_H

#include <gnuradio/rfml/api.h>
#include <gnuradio/sync_block.h>
#include <cstdint>
#include <vector>

namespace gr {
namespace rfml {

/*!
 * \brief Cuts vectors out of a complex stream at given sample indices, then stops.
 * \ingroup rfml
 *
 * Vector k is the length samples from stream index starts[k] on (starts increasing;
 * vectors may overlap). They are copied straight into one n x length array; the block
 * returns WORK_DONE once the last vector is complete, which ends the flowgraph. The
 * capture of the data-set generator (rfml.generation).
 */
class RFML_API capture_sink : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<capture_sink> sptr;

    /*!
     * \param starts stream index of each vector's first sample, increasing, >= 0
     * \param length samples per vector (>= 1)
     */
    static sptr make(const std::vector<int64_t>& starts, int length);

    //! The n x length captured samples (row k = vector k; complete once done()).
    virtual const std::vector<gr_complex>& vectors() const = 0;
    //! Stream samples received so far.
    virtual uint64_t position() const = 0;
    //! Stream samples needed for the last vector.
    virtual uint64_t total() const = 0;
    //! Number of vectors and their length.
    virtual size_t n_vectors() const = 0;
    virtual int length() const = 0;
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_CAPTURE_SINK_H */
