/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <pybind11/pybind11.h>

#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/arrayobject.h>

namespace py = pybind11;

void bind_constellation_renderer(py::module& m);
void bind_constellation(py::module& m);
void bind_awgn_kernel(py::module& m);
void bind_impairments(py::module& m);
void bind_capture_sink(py::module& m);

// import_array() is a macro that returns NULL on failure, hence the helper.
void* init_numpy()
{
    import_array();
    return NULL;
}

PYBIND11_MODULE(rfml_python, m)
{
    init_numpy();

    // The base classes of the C++ blocks.
    py::module::import("gnuradio.gr");

    bind_constellation_renderer(m);
    bind_constellation(m);
    bind_awgn_kernel(m);
    bind_impairments(m);
    bind_capture_sink(m);
}
