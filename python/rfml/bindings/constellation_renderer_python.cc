/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "checked_args.h"
#include <gnuradio/rfml/constellation_renderer.h>
#include <algorithm>
#include <string>
#include <vector>

namespace py = pybind11;
using gr::rfml::render_config;

namespace {

const char* render_doc =
    R"doc(Render complex vectors into constellation images (C++, GIL released).

Args:
    iq (numpy.ndarray): complex64 array of shape (B, L), C-contiguous (a CPU torch
        tensor works through ``tensor.numpy()``, without a copy).
    mode (str): "decay" (DenoMAE enhancement, one channel per rate) or "histogram"
        (counts per pixel, one channel).
    size (int or tuple[int, int]): image height and width in pixels (an int = square),
        1 to 8192.
    extent (float or str): half-width of the plotted square in I/Q units, or "auto":
        divide each vector by its RMS amplitude and plot +-2.5 (large signals stay in view);
        a number lies in [1e-9, 1e9].
    rates (sequence[float]): decay rates c_k in [0, 1e6], one channel each (decay mode).
    windows (sequence[int]): window half-widths b_k in pixels, one per rate, 0 to 65536.
    normalise (str or None): "max" (each channel / its maximum), "none", or None =
        "max" for decay, "none" for histogram.
    dtype (str or numpy.dtype): float32, or uint8 (floor(255 * value), saturated).
    method (str): how decay windows of 12 pixels or more are summed: "fft" (a fit in
        the sub-pixel offset + FFT convolution, the 8x8 pixels around each sample
        exact; agrees with "direct" within 1e-3 of the channel
        maximum, a quarter of a uint8 step) or "direct" (every window pixel; float32
        exact, about 10x slower).
    threads (int): worker threads, 0 = all cores; never more than the cores or the
        vectors. RuntimeError if the system refuses a thread (use fewer).
    return_invalid (bool): also return the number of NaN/Inf samples skipped per vector.
    out (numpy.ndarray or None): a C-contiguous, writeable array of shape (B, C, H, W)
        and the dtype above to render into (and return); reusing one across calls
        saves the operating system clearing fresh memory for every batch.

Returns:
    numpy.ndarray: (B, C, H, W) images (``out`` when given); with return_invalid, a
    tuple (images, invalid) where invalid is int64 of shape (B,).

Geometry: I runs across the columns, Q down the rows (+extent on top). Decay channel k
adds exp(-c_k * d / pixel_diagonal) to every pixel whose row and column are within b_k
of the sample's rounded pixel corner, d = distance from the sample to the pixel centre.
Defaults equal DenoMAE's reference images (224x224, +-2.5, b = 5, 25, 50, c = 5 / b).
)doc";

render_config parse_config(const std::string& mode,
                           const py::object& size,
                           const py::object& extent,
                           const std::vector<double>& rates,
                           const py::object& windows,
                           const py::object& normalise,
                           const std::string& method)
{
    using rfml_bindings::checked_int;
    render_config config;
    try {
        config.mode = render_config::parse_mode(mode);
        config.method = render_config::parse_method(method);
    } catch (const std::invalid_argument& e) {
        throw py::value_error(e.what());
    }
    const long max_size = render_config::max_size;
    if (py::isinstance<py::sequence>(size) && !py::isinstance<py::str>(size)) {
        const auto hw = size.cast<py::sequence>();
        if (hw.size() != 2) {
            throw py::value_error("size must be an int or (height, width), got " +
                                  py::repr(size).cast<std::string>());
        }
        config.height = checked_int(hw[0], "size (height)", 1, max_size);
        config.width = checked_int(hw[1], "size (width)", 1, max_size);
    } else {
        config.height = config.width = checked_int(size, "size", 1, max_size);
    }
    if (py::isinstance<py::str>(extent)) {
        if (extent.cast<std::string>() != "auto") {
            throw py::value_error("extent must be a positive number or 'auto', got '" +
                                  extent.cast<std::string>() + "'");
        }
        config.rms_scale = true;
    } else {
        try {
            config.extent = extent.cast<double>();
        } catch (const py::cast_error&) {
            throw py::value_error("extent must be a positive number or 'auto', got " +
                                  py::repr(extent).cast<std::string>());
        }
    }
    config.rates = rates;
    config.windows =
        rfml_bindings::checked_ints(windows, "windows", 0, render_config::max_window);
    if (normalise.is_none()) {
        config.normalise = config.mode == render_config::render_mode::decay;
    } else {
        try {
            config.normalise =
                render_config::parse_normalise(normalise.cast<std::string>());
        } catch (const std::invalid_argument& e) {
            throw py::value_error(e.what());
        }
    }
    return config;
}

py::array as_vectors(const py::object& iq)
{
    py::object arr = iq;
    if (!py::isinstance<py::array>(arr)) {
        if (!py::hasattr(arr, "__array__")) {
            throw py::type_error(
                "iq must be a complex64 numpy array of shape (B, L), got " +
                py::str(py::type::of(iq)).cast<std::string>());
        }
        arr = py::module_::import("numpy").attr("asarray")(arr);
    }
    auto a = arr.cast<py::array>();
    if (!a.dtype().is(py::dtype::of<std::complex<float>>())) {
        throw py::type_error("iq must be complex64 of shape (B, L), got dtype " +
                             py::str(py::object(a.dtype())).cast<std::string>() +
                             "; convert with iq.astype(numpy.complex64)");
    }
    if (a.ndim() != 2) {
        throw py::value_error("iq must have shape (B, L), got " +
                              std::to_string(a.ndim()) +
                              " dimensions; a single vector v is iq = v[None, :]");
    }
    if (!(a.flags() & py::array::c_style)) {
        throw py::value_error(
            "iq of shape (B, L) must be C-contiguous; use numpy.ascontiguousarray(iq)");
    }
    if (a.shape(0) > 0 && a.shape(1) == 0) {
        throw py::value_error(
            "iq has shape (B, 0): vectors must hold at least one sample");
    }
    return a;
}

template <typename T>
py::array render_as(const gr::rfml::constellation_renderer& renderer,
                    const py::array& a,
                    py::array_t<int64_t>& invalid,
                    int threads,
                    const py::object& given)
{
    const auto& c = renderer.config();
    const py::ssize_t B = a.shape(0);
    const std::vector<py::ssize_t> shape = { B,
                                             static_cast<py::ssize_t>(
                                                 renderer.channels()),
                                             static_cast<py::ssize_t>(c.height),
                                             static_cast<py::ssize_t>(c.width) };
    py::array_t<T> out;
    if (given.is_none()) {
        out = py::array_t<T>(shape);
    } else {
        const std::string expected =
            "(" + std::to_string(shape[0]) + ", " + std::to_string(shape[1]) + ", " +
            std::to_string(shape[2]) + ", " + std::to_string(shape[3]) + ")";
        if (!py::isinstance<py::array>(given) ||
            !given.cast<py::array>().dtype().is(py::dtype::of<T>())) {
            throw py::type_error(
                "out must be a numpy array of dtype " +
                py::str(py::object(py::dtype::of<T>())).cast<std::string>() +
                " (the dtype argument) and shape " + expected);
        }
        auto o = given.cast<py::array>();
        if (o.ndim() != 4 || !std::equal(shape.begin(), shape.end(), o.shape()) ||
            !(o.flags() & py::array::c_style) || !o.writeable()) {
            throw py::value_error(
                "out must be a C-contiguous, writeable array of shape " + expected);
        }
        out = py::reinterpret_borrow<py::array_t<T>>(o);
    }
    if (B == 0) {
        return out;
    }
    const auto* in = static_cast<const gr_complex*>(a.data());
    T* dst = out.mutable_data();
    int64_t* bad = invalid.mutable_data();
    const size_t L = a.shape(1);
    {
        py::gil_scoped_release release;
        renderer.render(in, B, L, dst, bad, threads);
    }
    return out;
}

py::object render_constellations(const py::object& iq,
                                 const std::string& mode,
                                 const py::object& size,
                                 const py::object& extent,
                                 const std::vector<double>& rates,
                                 const py::object& windows,
                                 const py::object& normalise,
                                 const py::object& dtype,
                                 const std::string& method,
                                 const py::object& threads_arg,
                                 bool return_invalid,
                                 const py::object& out)
{
    const render_config config =
        parse_config(mode, size, extent, rates, windows, normalise, method);
    const int threads = rfml_bindings::checked_int(threads_arg, "threads", 0, 1 << 20);
    std::unique_ptr<gr::rfml::constellation_renderer> renderer;
    try {
        renderer = std::make_unique<gr::rfml::constellation_renderer>(config);
    } catch (const std::invalid_argument& e) {
        throw py::value_error(e.what());
    }
    const py::array a = as_vectors(iq);
    const auto dt = py::dtype::from_args(dtype);
    py::array_t<int64_t> invalid(a.shape(0));
    py::array images;
    if (dt.is(py::dtype::of<float>())) {
        images = render_as<float>(*renderer, a, invalid, threads, out);
    } else if (dt.is(py::dtype::of<uint8_t>())) {
        images = render_as<uint8_t>(*renderer, a, invalid, threads, out);
    } else {
        throw py::type_error("dtype must be float32 or uint8, got " +
                             py::str(py::object(dt)).cast<std::string>());
    }
    if (return_invalid) {
        return py::make_tuple(images, invalid);
    }
    return images;
}

} // namespace

void bind_constellation_renderer(py::module& m)
{
    const render_config defaults;
    m.def("render_constellations",
          &render_constellations,
          py::arg("iq"),
          py::arg("mode") = "decay",
          py::arg("size") = defaults.height,
          py::arg("extent") = defaults.extent,
          py::arg("rates") = defaults.rates,
          py::arg("windows") = defaults.windows,
          py::arg("normalise") = py::none(),
          py::arg("dtype") = "float32",
          py::arg("method") = "fft",
          py::arg("threads") = 0,
          py::arg("return_invalid") = false,
          py::arg("out") = py::none(),
          render_doc);
}
