/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <gnuradio/rfml/awgn_kernel.h>
#include <gnuradio/rfml/gaussian_rng.h>
#include <cmath>
#include <string>

namespace py = pybind11;
using gr::rfml::gaussian_rng;

namespace {

using complex_array = py::array_t<gr_complex, py::array::c_style | py::array::forcecast>;
using float_array = py::array_t<float, py::array::c_style | py::array::forcecast>;

uint64_t as_seed(py::int_ seed)
{
    return py::module_::import("builtins")
        .attr("int")(seed)
        .attr("__and__")(py::int_(0xffffffffffffffffULL))
        .cast<uint64_t>();
}

// (n_vectors, L) of x, and the SNRs as one value or one per vector.
struct vectors {
    size_t n, L;
    float_array snr;
    size_t stride;
};

vectors check(const complex_array& x, const py::object& snr_db)
{
    if (x.ndim() < 1 || x.shape(x.ndim() - 1) == 0) {
        throw py::value_error("add_awgn needs complex vectors along the last axis, got " +
                              std::to_string(x.ndim()) + " dimensions / length 0");
    }
    vectors v;
    v.L = static_cast<size_t>(x.shape(x.ndim() - 1));
    v.n = static_cast<size_t>(x.size()) / v.L;
    v.snr = float_array(py::module_::import("numpy").attr("ravel")(snr_db));
    v.stride = v.snr.size() == 1 ? 0 : 1;
    if (v.stride && static_cast<size_t>(v.snr.size()) != v.n) {
        throw py::value_error("snr_db has " + std::to_string(v.snr.size()) +
                              " values for " + std::to_string(v.n) +
                              " vectors: give one value or one per vector");
    }
    const float* s = v.snr.data();
    for (py::ssize_t i = 0; i < v.snr.size(); i++) {
        if (!std::isfinite(s[i])) {
            throw py::value_error("snr_db must be finite, got " + std::to_string(s[i]));
        }
    }
    return v;
}

// An output array given by the caller: float32, C-contiguous, writeable, this shape.
py::array
planes(const py::object& obj, const std::vector<py::ssize_t>& shape, const char* name)
{
    auto a = obj.cast<py::array>();
    if (!a.dtype().is(py::dtype::of<float>()) || !(a.flags() & py::array::c_style) ||
        !a.writeable() ||
        std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()) != shape) {
        throw py::value_error(std::string(name) +
                              " must be a writeable C-contiguous float32 array of shape "
                              "(..., 2, L) matching x");
    }
    return a;
}

std::vector<py::ssize_t> lead_shape(const complex_array& x)
{
    return std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim() - 1);
}

} // namespace

void bind_awgn_kernel(py::module& m)
{
    py::class_<gaussian_rng>(
        m,
        "gaussian_rng",
        R"doc(Seeded standard normal numbers (C++: xoshiro256++, ziggurat).

The source of the noise of rfml.add_awgn and of the phase noise of rfml.impairments.
The same seed gives the same numbers on every run.

Args:
    seed (int): seed (its low 64 bits).
)doc")
        .def(py::init([](py::int_ seed) { return new gaussian_rng(as_seed(seed)); }),
             py::arg("seed") = 0)
        .def(
            "normal",
            [](gaussian_rng& rng, size_t n) {
                py::array_t<float> out(n);
                float* p = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    rng.fill(p, n);
                }
                return out;
            },
            py::arg("n"),
            "The next n standard normal numbers, float32 (n,).");

    m.def(
        "add_awgn",
        [](complex_array x,
           const py::object& snr_db,
           gaussian_rng& rng,
           bool return_noise) {
            const vectors v = check(x, snr_db);
            py::array_t<gr_complex> y(x.request().shape);
            py::array_t<gr_complex> noise(return_noise ? x.request().shape
                                                       : std::vector<py::ssize_t>{ 0 });
            py::array_t<bool> valid(lead_shape(x));
            const gr_complex* in = x.data();
            gr_complex* out = y.mutable_data();
            gr_complex* w = return_noise ? noise.mutable_data() : nullptr;
            bool* ok = valid.mutable_data();
            {
                py::gil_scoped_release release;
                gr::rfml::add_awgn(in, v.n, v.L, v.snr.data(), v.stride, rng, out, w, ok);
            }
            return py::make_tuple(
                y, return_noise ? py::object(noise) : py::none(), valid);
        },
        py::arg("x"),
        py::arg("snr_db"),
        py::arg("rng"),
        py::arg("return_noise") = true,
        R"doc(White Gaussian noise at an exact SNR per vector (C++, GIL released).

rfml.dsp.add_awgn with the noise from a C++ generator: on each vector (last axis) the
signal power is measured and the noise, measured over the same vector, scaled to
P_signal / 10**(snr_db/10). Vectors of zero power or with a NaN/Inf sample come out
as zeros (valid False).

Args:
    x (numpy.ndarray): complex64 (..., L), L >= 1.
    snr_db (float or array (...,)): target SNR in dB, finite.
    rng (rfml.gaussian_rng): source of the noise.
    return_noise (bool): also return the noise (else None in its place).

Returns:
    (y, noise, valid): complex64 (..., L) twice and bool (...,).
)doc");

    m.def(
        "add_awgn_planar",
        [](complex_array x,
           const py::object& snr_db,
           gaussian_rng& rng,
           py::object iq,
           py::object clean) {
            const vectors v = check(x, snr_db);
            auto shape = lead_shape(x);
            shape.push_back(2);
            shape.push_back(static_cast<py::ssize_t>(v.L));
            py::array out = iq.is_none() ? py::array(py::array_t<float>(shape))
                                         : planes(iq, shape, "iq");
            float* c =
                clean.is_none()
                    ? nullptr
                    : static_cast<float*>(planes(clean, shape, "clean").mutable_data());
            py::array_t<bool> valid(lead_shape(x));
            const gr_complex* in = x.data();
            float* o = static_cast<float*>(out.mutable_data());
            bool* ok = valid.mutable_data();
            size_t invalid;
            {
                py::gil_scoped_release release;
                invalid = gr::rfml::add_awgn_planar(
                    in, v.n, v.L, v.snr.data(), v.stride, rng, o, c, ok);
            }
            return py::make_tuple(out, valid, invalid);
        },
        py::arg("x"),
        py::arg("snr_db"),
        py::arg("rng"),
        py::arg("iq") = py::none(),
        py::arg("clean") = py::none(),
        R"doc(rfml.add_awgn written as (..., 2, L) float32 (the data-set layout).

The same noise as rfml.add_awgn for the same rng state; the noisy vectors come back as
in-phase and quadrature planes, and the clean input is written the same way into
``clean`` when given (saves two conversions per data-set batch); ``iq`` and ``clean`` may
be slices of bigger arrays (rows of a batch).

Args:
    x (numpy.ndarray): complex64 (..., L).
    snr_db (float or array (...,)): target SNR in dB, finite.
    rng (rfml.gaussian_rng): source of the noise.
    iq (numpy.ndarray or None): float32 (..., 2, L), C-contiguous, written and
        returned; None = a new array.
    clean (numpy.ndarray or None): float32 (..., 2, L), C-contiguous, written.

Returns:
    (iq, valid, invalid): float32 (..., 2, L), bool (...,), and the number of invalid
    vectors.
)doc");
}
