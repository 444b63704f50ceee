/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <pybind11/complex.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "checked_args.h"
#include <gnuradio/rfml/constellation.h>
#include <gnuradio/rfml/constellation_renderer.h>

namespace py = pybind11;

namespace {

const char* constellation_doc = R"doc(Constellation images of complex vectors (C++ block).

Input: complex vectors of length vector_length. Output: float vectors of C * H * W values, one
(C, H, W) image per vector, rendered by rfml.render_constellations (all vectors of a
work() call at once). NaN/Inf samples are skipped, counted and logged.

Args:
    vector_length (int): samples per input vector.
    mode (str): "decay" (one channel per rate) or "histogram" (one channel).
    height (int): image rows.
    width (int): image columns.
    extent (float or str): half-width of the plotted square in I/Q units, or "auto"
        (each vector divided by its RMS, plotted on +-2.5).
    rates (list[float]): decay rates, one channel each.
    windows (list[int]): decay window half-widths in pixels, one per rate.
    normalise (str): "auto" (max for decay, none for histogram), "max" or "none".
    threads (int): worker threads, 0 = all cores.
)doc";

gr::rfml::constellation::sptr make(const py::object& vector_length,
                                   const std::string& mode,
                                   const py::object& height,
                                   const py::object& width,
                                   const py::object& extent,
                                   const std::vector<double>& rates,
                                   const py::object& windows,
                                   const std::string& normalise,
                                   const py::object& threads)
{
    using gr::rfml::render_config;
    using rfml_bindings::checked_int;
    double e = 2.5;
    bool rms_scale = false;
    if (py::isinstance<py::str>(extent)) {
        if (extent.cast<std::string>() != "auto") {
            throw py::value_error("extent must be a positive number or 'auto', got '" +
                                  extent.cast<std::string>() + "'");
        }
        rms_scale = true;
    } else {
        try {
            e = extent.cast<double>();
        } catch (const py::cast_error&) {
            throw py::value_error("extent must be a positive number or 'auto', got " +
                                  py::repr(extent).cast<std::string>());
        }
    }
    try {
        return gr::rfml::constellation::make(
            checked_int(vector_length, "vector_length", 1, 1 << 24),
            mode,
            checked_int(height, "height", 1, render_config::max_size),
            checked_int(width, "width", 1, render_config::max_size),
            e,
            rms_scale,
            rates,
            rfml_bindings::checked_ints(windows, "windows", 0, render_config::max_window),
            normalise,
            checked_int(threads, "threads", 0, 1 << 20));
    } catch (const std::invalid_argument& err) {
        throw py::value_error(err.what());
    }
}

} // namespace

void bind_constellation(py::module& m)
{
    using gr::rfml::constellation;
    py::class_<constellation,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<constellation>>(m, "constellation", constellation_doc)
        .def(py::init(&make),
             py::arg("vector_length"),
             py::arg("mode") = "decay",
             py::arg("height") = 224,
             py::arg("width") = 224,
             py::arg("extent") = 2.5,
             py::arg("rates") = std::vector<double>{ 1.0, 0.2, 0.1 },
             py::arg("windows") = std::vector<int>{ 5, 25, 50 },
             py::arg("normalise") = "auto",
             py::arg("threads") = 0)
        .def("channels", &constellation::channels, "Output channels C of each image.")
        .def("invalid_samples",
             &constellation::invalid_samples,
             "NaN/Inf samples skipped since the start.")
        .def("invalid_vectors",
             &constellation::invalid_vectors,
             "Vectors with at least one NaN/Inf sample since the start.");
}
