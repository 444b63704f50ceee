/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <gnuradio/rfml/capture_sink.h>
#include <stdexcept>

namespace py = pybind11;

void bind_capture_sink(py::module& m)
{
    using gr::rfml::capture_sink;
    py::class_<capture_sink,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<capture_sink>>(
        m,
        "capture_sink",
        R"doc(Cuts vectors out of a complex stream at given sample indices, then stops (C++).

Vector k is the ``length`` samples from stream index ``starts[k]`` on; they are copied
straight into one (n, length) array, and the block ends the flowgraph once the last one
is complete. The capture of the data-set generator.

Args:
    starts (sequence[int]): stream index of each vector's first sample, increasing.
    length (int): samples per vector.
)doc")
        .def(py::init([](const std::vector<int64_t>& starts, int length) {
                 try {
                     return capture_sink::make(starts, length);
                 } catch (const std::invalid_argument& e) {
                     throw py::value_error(e.what());
                 }
             }),
             py::arg("starts"),
             py::arg("length"))
        .def(
            "vectors",
            [](py::object self) {
                auto& blk = self.cast<capture_sink&>();
                const auto& data = blk.vectors();
                // A view of the block's memory (no copy); the array keeps the block
                // alive.
                return py::array_t<gr_complex>(
                    { static_cast<py::ssize_t>(blk.n_vectors()),
                      static_cast<py::ssize_t>(blk.length()) },
                    data.data(),
                    self);
            },
            "The captured vectors, complex64 (n, length): a view of the block's array "
            "(complete once position() >= total()).")
        .def("position", &capture_sink::position, "Stream samples received so far.")
        .def("total", &capture_sink::total, "Stream samples needed for the last vector.");
}
