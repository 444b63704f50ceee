/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <gnuradio/rfml/impairment_kernel.h>
#include <gnuradio/rfml/impairments.h>
#include <stdexcept>
#include <string>

namespace py = pybind11;
using gr::rfml::impairment_params;

namespace {

const char* params_doc = R"doc(
Args:
    freq_offset (float): carrier frequency offset, cycles per sample.
    phase (float): carrier phase at the first sample, rad.
    phase_noise_std (float): Wiener phase noise, rad per sqrt(sample), >= 0.
    iq_gain_db (float): IQ gain imbalance, dB (Q relative to I).
    iq_phase_deg (float): IQ phase imbalance, degrees.
    dc_offset (complex): DC offset, added last.)doc";

impairment_params make_params(double freq_offset,
                              double phase,
                              double phase_noise_std,
                              double iq_gain_db,
                              double iq_phase_deg,
                              std::complex<double> dc_offset)
{
    impairment_params p;
    p.freq_offset = freq_offset;
    p.phase = phase;
    p.phase_noise_std = phase_noise_std;
    p.iq_gain_db = iq_gain_db;
    p.iq_phase_deg = iq_phase_deg;
    p.dc_offset = gr_complex(static_cast<float>(dc_offset.real()),
                             static_cast<float>(dc_offset.imag()));
    try {
        p.check();
    } catch (const std::invalid_argument& e) {
        throw py::value_error(e.what());
    }
    return p;
}

py::dict as_dict(const impairment_params& p)
{
    py::dict d;
    d["freq_offset"] = p.freq_offset;
    d["phase"] = p.phase;
    d["phase_noise_std"] = p.phase_noise_std;
    d["iq_gain_db"] = p.iq_gain_db;
    d["iq_phase_deg"] = p.iq_phase_deg;
    d["dc_offset"] = std::complex<double>(p.dc_offset);
    return d;
}

uint64_t as_seed(py::int_ seed)
{
    // Any Python int: its low 64 bits (negative seeds wrap).
    return py::module_::import("builtins")
        .attr("int")(seed)
        .attr("__and__")(py::int_(0xffffffffffffffffULL))
        .cast<uint64_t>();
}

#define RFML_PARAM_ARGS                                            \
    py::arg("freq_offset") = 0.0, py::arg("phase") = 0.0,          \
    py::arg("phase_noise_std") = 0.0, py::arg("iq_gain_db") = 0.0, \
    py::arg("iq_phase_deg") = 0.0, py::arg("dc_offset") = std::complex<double>(0.0)

} // namespace

void bind_impairments(py::module& m)
{
    using gr::rfml::impairment_kernel;
    using gr::rfml::impairments;

    py::class_<impairment_kernel>(
        m,
        "impairment_kernel",
        (std::string(R"doc(The simulated loopback's impairments on one stream (C++).

Carrier frequency offset and phase, Wiener phase noise, IQ imbalance, DC, as
rfml.dsp.apply_impairments (without the clock drift); call process() buffer by buffer:
the output is the same bits however the stream is cut.
)doc") + params_doc +
         R"doc(
    seed (int): seed of the phase noise (rfml.gaussian_rng).
)doc")
            .c_str())
        .def(py::init([](double f,
                         double ph,
                         double pn,
                         double g,
                         double phi,
                         std::complex<double> dc,
                         py::int_ seed) {
                 return new impairment_kernel(make_params(f, ph, pn, g, phi, dc),
                                              as_seed(seed));
             }),
             RFML_PARAM_ARGS,
             py::arg("seed") = 0)
        .def(
            "process",
            [](impairment_kernel& k,
               py::array_t<gr_complex, py::array::c_style | py::array::forcecast> x) {
                if (x.ndim() != 1) {
                    throw py::value_error("process takes one stream (N,), got " +
                                          std::to_string(x.ndim()) + " dimensions");
                }
                py::array_t<gr_complex> y(x.shape(0));
                const gr_complex* in = x.data();
                gr_complex* out = y.mutable_data();
                const size_t n = static_cast<size_t>(x.shape(0));
                {
                    py::gil_scoped_release release;
                    k.process(in, out, n);
                }
                return y;
            },
            py::arg("x"),
            "Impair the next samples of the stream: complex64 (N,) in, (N,) out.")
        .def(
            "set_params",
            [](impairment_kernel& k,
               double f,
               double ph,
               double pn,
               double g,
               double phi,
               std::complex<double> dc) {
                k.set_params(make_params(f, ph, pn, g, phi, dc));
            },
            RFML_PARAM_ARGS,
            "New parameters from the next sample on (a new frequency keeps the phase "
            "continuous; phase is ignored after the start).")
        .def("params", [](const impairment_kernel& k) { return as_dict(k.params()); })
        .def("samples", &impairment_kernel::samples, "Samples processed so far.");

    py::class_<impairments,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<impairments>>(
        m,
        "impairments",
        (std::string(
             R"doc(The simulated loopback's impairments on a complex stream (C++ block).

Carrier frequency offset and phase, Wiener phase noise, IQ imbalance and DC offset by
rfml.impairment_kernel: the same output bits whatever the buffer sizes. Input and
output: complex. The stage of rfml.loopback(radio="sim") after the clock drift.
)doc") + params_doc +
         R"doc(
    seed (int): seed of the phase noise.
)doc")
            .c_str())
        .def(py::init([](double f,
                         double ph,
                         double pn,
                         double g,
                         double phi,
                         std::complex<double> dc,
                         py::int_ seed) {
                 return impairments::make(make_params(f, ph, pn, g, phi, dc),
                                          as_seed(seed));
             }),
             RFML_PARAM_ARGS,
             py::arg("seed") = 0)
        .def(
            "set_params",
            [](impairments& b,
               double f,
               double ph,
               double pn,
               double g,
               double phi,
               std::complex<double> dc) {
                b.set_params(make_params(f, ph, pn, g, phi, dc));
            },
            RFML_PARAM_ARGS,
            "New parameters from the next work() call on (a new frequency keeps the "
            "phase).")
        .def("params", [](const impairments& b) { return as_dict(b.params()); })
        .def("samples", &impairments::samples, "Samples output so far.");
}
