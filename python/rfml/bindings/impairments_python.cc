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
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;
using gr::rfml::impairment_params;

namespace {

const char* params_doc = R"doc(
Args:
    timing_drift_ppm (float): receive sample clock fast by this many ppm (> -1e6).
    freq_offset (float): carrier frequency offset, cycles per sample.
    phase (float): carrier phase at the first sample, rad.
    phase_noise_std (float): Wiener phase noise, rad per sqrt(sample), >= 0.
    iq_gain_db (float): IQ gain imbalance, dB (Q relative to I).
    iq_phase_deg (float): IQ phase imbalance, degrees.
    dc_offset (complex): DC offset, added last.)doc";

impairment_params make_params(double timing_drift_ppm,
                              double freq_offset,
                              double phase,
                              double phase_noise_std,
                              double iq_gain_db,
                              double iq_phase_deg,
                              std::complex<double> dc_offset)
{
    impairment_params p;
    p.timing_drift_ppm = timing_drift_ppm;
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
    d["timing_drift_ppm"] = p.timing_drift_ppm;
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

// The kernel with the inputs its interpolator still needs (the Python API takes any
// buffers; the block leaves them in GNU Radio's buffer instead).
struct stream_kernel {
    gr::rfml::impairment_kernel kernel;
    std::vector<gr_complex> pending;
    stream_kernel(const impairment_params& p, uint64_t seed) : kernel(p, seed) {}
};

#define RFML_PARAM_ARGS                                              \
    py::arg("timing_drift_ppm") = 0.0, py::arg("freq_offset") = 0.0, \
    py::arg("phase") = 0.0, py::arg("phase_noise_std") = 0.0,        \
    py::arg("iq_gain_db") = 0.0, py::arg("iq_phase_deg") = 0.0,      \
    py::arg("dc_offset") = std::complex<double>(0.0)

} // namespace

void bind_impairments(py::module& m)
{
    using gr::rfml::impairments;

    py::class_<stream_kernel>(
        m,
        "impairment_kernel",
        (std::string(R"doc(The simulated loopback's impairments on one stream (C++).

Sample-clock drift, carrier frequency offset and phase, Wiener phase noise, IQ imbalance,
DC, as rfml.dsp.apply_impairments; call process() buffer by buffer: the output is the
same bits however the stream is cut. With a drift, the inputs the interpolator still
needs are kept for the next call (as dsp.apply_impairments does).
)doc") + params_doc +
         R"doc(
    seed (int): seed of the phase noise (rfml.gaussian_rng).
)doc")
            .c_str())
        .def(py::init([](double drift,
                         double f,
                         double ph,
                         double pn,
                         double g,
                         double phi,
                         std::complex<double> dc,
                         py::int_ seed) {
                 return new stream_kernel(make_params(drift, f, ph, pn, g, phi, dc),
                                          as_seed(seed));
             }),
             RFML_PARAM_ARGS,
             py::arg("seed") = 0)
        .def(
            "process",
            [](stream_kernel& s,
               py::array_t<gr_complex, py::array::c_style | py::array::forcecast> x) {
                if (x.ndim() != 1) {
                    throw py::value_error("process takes one stream (N,), got " +
                                          std::to_string(x.ndim()) + " dimensions");
                }
                const gr_complex* in = x.data();
                const size_t n = static_cast<size_t>(x.shape(0));
                std::vector<gr_complex> out;
                {
                    py::gil_scoped_release release;
                    s.pending.insert(s.pending.end(), in, in + n);
                    out.resize(
                        static_cast<size_t>(std::ceil(
                            static_cast<double>(s.pending.size()) * s.kernel.rate())) +
                        4);
                    size_t consumed = 0;
                    out.resize(s.kernel.process(s.pending.data(),
                                                s.pending.size(),
                                                out.data(),
                                                out.size(),
                                                consumed));
                    s.pending.erase(s.pending.begin(), s.pending.begin() + consumed);
                }
                return py::array_t<gr_complex>(out.size(), out.data());
            },
            py::arg("x"),
            "Impair the next samples of the stream: complex64 (N,) in, (M,) out (M == N "
            "without a clock drift).")
        .def(
            "set_params",
            [](stream_kernel& s,
               double drift,
               double f,
               double ph,
               double pn,
               double g,
               double phi,
               std::complex<double> dc) {
                s.kernel.set_params(make_params(drift, f, ph, pn, g, phi, dc));
            },
            RFML_PARAM_ARGS,
            "New parameters from the next sample on (a new frequency keeps the phase "
            "continuous, a new drift the sampling instants; phase is ignored after the "
            "start).")
        .def("params", [](const stream_kernel& s) { return as_dict(s.kernel.params()); })
        .def(
            "samples",
            [](const stream_kernel& s) { return s.kernel.samples(); },
            "Output samples so far.");

    py::class_<impairments, gr::block, gr::basic_block, std::shared_ptr<impairments>>(
        m,
        "impairments",
        (std::string(
             R"doc(The simulated loopback's impairments on a complex stream (C++ block).

Sample-clock drift (cubic interpolation), carrier frequency offset and phase, Wiener phase
noise, IQ imbalance and DC offset by rfml.impairment_kernel: the same output bits whatever
the buffer sizes. Input and output: complex (about 1 + ppm*1e-6 outputs per input). The
simulated radio of rfml.loopback(radio="sim").
)doc") + params_doc +
         R"doc(
    seed (int): seed of the phase noise.
)doc")
            .c_str())
        .def(py::init([](double drift,
                         double f,
                         double ph,
                         double pn,
                         double g,
                         double phi,
                         std::complex<double> dc,
                         py::int_ seed) {
                 return impairments::make(make_params(drift, f, ph, pn, g, phi, dc),
                                          as_seed(seed));
             }),
             RFML_PARAM_ARGS,
             py::arg("seed") = 0)
        .def(
            "set_params",
            [](impairments& b,
               double drift,
               double f,
               double ph,
               double pn,
               double g,
               double phi,
               std::complex<double> dc) {
                b.set_params(make_params(drift, f, ph, pn, g, phi, dc));
            },
            RFML_PARAM_ARGS,
            "New parameters from the next work() call on (a new frequency keeps the "
            "phase continuous, a new drift the sampling instants).")
        .def("params", [](const impairments& b) { return as_dict(b.params()); })
        .def("samples", &impairments::samples, "Samples output so far.");
}
