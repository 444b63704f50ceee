/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_CHECKED_ARGS_H
#define INCLUDED_RFML_CHECKED_ARGS_H

#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace rfml_bindings {

/*!
 * An integer argument in [lo, hi]: a Python int (or anything with __index__, such as a
 * numpy integer; not a bool or a float), else ValueError naming the argument, the range
 * and the value given.
 */
inline int checked_int(const pybind11::handle& value, const char* name, long lo, long hi)
{
    namespace py = pybind11;
    const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    const auto fail = [&]() {
        return py::value_error(std::string(name) + " must be an integer in " + range +
                               ", got " + py::repr(value).cast<std::string>());
    };
    if (py::isinstance<py::bool_>(value) || !py::hasattr(value, "__index__")) {
        throw fail();
    }
    PyObject* index = PyNumber_Index(value.ptr());
    if (index == nullptr) {
        PyErr_Clear();
        throw fail();
    }
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(index, &overflow);
    Py_DECREF(index);
    if (overflow != 0 || v < lo || v > hi) {
        throw fail();
    }
    return static_cast<int>(v);
}

//! A sequence of integers, each in [lo, hi] (see checked_int).
inline std::vector<int>
checked_ints(const pybind11::handle& values, const char* name, long lo, long hi)
{
    namespace py = pybind11;
    if (py::isinstance<py::str>(values) || !py::isinstance<py::sequence>(values)) {
        throw py::value_error(std::string(name) +
                              " must be a sequence of integers, got " +
                              py::repr(values).cast<std::string>());
    }
    std::vector<int> out;
    for (const auto& v : values.cast<py::sequence>()) {
        out.push_back(checked_int(v, name, lo, hi));
    }
    return out;
}

} // namespace rfml_bindings

#endif /* INCLUDED_RFML_CHECKED_ARGS_H */
