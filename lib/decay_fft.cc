/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "decay_fft.h"
#include <gnuradio/fft/fft.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <sstream>
#include <stdexcept>

namespace gr {
namespace rfml {

namespace {

// Smallest n >= target whose only prime factors are 2, 3 and 5 (fast FFT sizes).
int smooth_size(int target)
{
    for (int n = std::max(target, 1);; n++) {
        int m = n;
        for (int p : { 2, 3, 5 }) {
            while (m % p == 0) {
                m /= p;
            }
        }
        if (m == 1) {
            return n;
        }
    }
}

// Points of the sub-pixel offset grid used for the least-squares fit, per axis.
constexpr int fit_points = 11;

// Solves the 6x6 system a x = b (in place, partial pivoting); a is row-major.
void solve6(double* a, double* b, int n_rhs)
{
    constexpr int n = decay_fft::n_basis;
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++) {
            if (std::fabs(a[r * n + c]) > std::fabs(a[piv * n + c])) {
                piv = r;
            }
        }
        for (int k = 0; k < n; k++) {
            std::swap(a[c * n + k], a[piv * n + k]);
        }
        for (int k = 0; k < n_rhs; k++) {
            std::swap(b[c * n_rhs + k], b[piv * n_rhs + k]);
        }
        for (int r = 0; r < n; r++) {
            if (r == c) {
                continue;
            }
            const double f = a[r * n + c] / a[c * n + c];
            for (int k = 0; k < n; k++) {
                a[r * n + k] -= f * a[c * n + k];
            }
            for (int k = 0; k < n_rhs; k++) {
                b[r * n_rhs + k] -= f * b[c * n_rhs + k];
            }
        }
    }
    for (int r = 0; r < n; r++) {
        for (int k = 0; k < n_rhs; k++) {
            b[r * n_rhs + k] /= a[r * n + r];
        }
    }
}

void basis(double dx, double dy, double* phi)
{
    phi[0] = 1.0;
    phi[1] = dx;
    phi[2] = dy;
    phi[3] = dx * dx;
    phi[4] = dx * dy;
    phi[5] = dy * dy;
}

template <typename T>
T* fftw_array(size_t n)
{
    void* p = fftwf_malloc(n * sizeof(T));
    if (!p) {
        throw std::bad_alloc();
    }
    return static_cast<T*>(p);
}

} // namespace

std::shared_ptr<const decay_fft> decay_fft::get(int height,
                                                int width,
                                                const std::vector<double>& rates,
                                                const std::vector<int>& windows)
{
    static std::mutex cache_mutex;
    static std::map<std::string, std::shared_ptr<const decay_fft>> cache;
    std::ostringstream key;
    key.precision(17);
    key << height << 'x' << width;
    for (size_t k = 0; k < rates.size(); k++) {
        key << ';' << rates[k] << ',' << windows[k];
    }
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = cache.find(key.str());
    if (it != cache.end()) {
        return it->second;
    }
    if (cache.size() >= 16) {
        cache.clear(); // renderers in use keep their engine alive
    }
    auto engine = std::make_shared<const decay_fft>(height, width, rates, windows);
    cache.emplace(key.str(), engine);
    return engine;
}

decay_fft::decay_fft(int height,
                     int width,
                     const std::vector<double>& rates,
                     const std::vector<int>& windows)
    : d_height(height),
      d_width(width),
      d_ny(smooth_size(height + 32)),
      d_nx(smooth_size(width + 32)),
      d_nxc(d_nx / 2 + 1),
      d_channels(rates.size())
{
    int bmax = 0;
    for (int b : windows) {
        if (2 * b + 1 > std::min(d_ny, d_nx) || b < near) {
            throw std::invalid_argument("decay_fft: window out of range");
        }
        bmax = std::max(bmax, b);
    }
    // Anchor a reaches pixel p through the circular convolution only at offsets
    // (p - a) mod n; no wrapped offset lands in a window when these bounds hold.
    row_lo = height - d_ny + bmax;
    row_hi = d_ny - bmax - 1;
    col_lo = width - d_nx + bmax;
    col_hi = d_nx - bmax - 1;

    // Only the shape of a pixel matters: distances are in pixel diagonals.
    const double di = 1.0 / width;
    const double dq = 1.0 / height;
    const size_t plane = static_cast<size_t>(d_ny) * d_nx;
    const size_t bins = static_cast<size_t>(d_ny) * d_nxc;
    d_kernels.resize(d_channels * bins * n_basis);

    std::lock_guard<std::mutex> lock(gr::fft::planner::mutex());
    float* real = fftw_array<float>(plane * n_basis);
    fftwf_complex* spec = fftw_array<fftwf_complex>(bins * n_basis);
    float* out = fftw_array<float>(plane);
    const int dims[2] = { d_ny, d_nx };
    d_forward = fftwf_plan_many_dft_r2c(
        2, dims, n_basis, real, nullptr, 1, plane, spec, nullptr, 1, bins, FFTW_MEASURE);
    d_backward = fftwf_plan_dft_c2r_2d(d_ny, d_nx, spec, out, FFTW_MEASURE);
    if (!d_forward || !d_backward) {
        throw std::runtime_error("decay_fft: FFTW could not plan a " +
                                 std::to_string(d_ny) + "x" + std::to_string(d_nx) +
                                 " transform");
    }
    const float scale = 1.0f / static_cast<float>(plane);
    for (size_t k = 0; k < d_channels; k++) {
        std::vector<double> tables;
        fit_tables(tables, rates[k], windows[k], di, dq);
        const int b = windows[k];
        const int side = 2 * b + 1;
        std::fill(real, real + plane * n_basis, 0.0f);
        for (int m = 0; m < n_basis; m++) {
            for (int oy = -b; oy <= b; oy++) {
                for (int ox = -b; ox <= b; ox++) {
                    const size_t at = static_cast<size_t>((oy + d_ny) % d_ny) * d_nx +
                                      (ox + d_nx) % d_nx;
                    real[m * plane + at] = static_cast<float>(
                        tables[(static_cast<size_t>(m) * side + oy + b) * side + ox + b]);
                }
            }
        }
        fftwf_execute_dft_r2c(d_forward, real, spec);
        for (size_t bin = 0; bin < bins; bin++) {
            for (int m = 0; m < n_basis; m++) {
                const fftwf_complex& s = spec[m * bins + bin];
                d_kernels[(k * bins + bin) * n_basis + m] = { s[0] * scale, s[1] * scale };
            }
        }
    }
    fftwf_free(real);
    fftwf_free(spec);
    fftwf_free(out);
}

decay_fft::~decay_fft()
{
    std::lock_guard<std::mutex> lock(gr::fft::planner::mutex());
    if (d_forward) {
        fftwf_destroy_plan(d_forward);
    }
    if (d_backward) {
        fftwf_destroy_plan(d_backward);
    }
}

void decay_fft::fit_tables(
    std::vector<double>& tables, double rate, int window, double di, double dq)
{
    constexpr int G = fit_points * fit_points;
    const double dxy = std::hypot(di, dq);
    // Least squares: coefficients = (A^T A)^-1 A^T f, with A[g][m] = phi_m(d_g).
    std::vector<double> phi(G * n_basis), grid(2 * G);
    for (int gy = 0; gy < fit_points; gy++) {
        for (int gx = 0; gx < fit_points; gx++) {
            const int g = gy * fit_points + gx;
            grid[2 * g] = gx / (fit_points - 1.0) - 0.5;
            grid[2 * g + 1] = gy / (fit_points - 1.0) - 0.5;
            basis(grid[2 * g], grid[2 * g + 1], &phi[g * n_basis]);
        }
    }
    double ata[n_basis * n_basis] = {};
    std::vector<double> pinv(n_basis * G); // becomes (A^T A)^-1 A^T
    for (int g = 0; g < G; g++) {
        for (int i = 0; i < n_basis; i++) {
            pinv[i * G + g] = phi[g * n_basis + i];
            for (int j = 0; j < n_basis; j++) {
                ata[i * n_basis + j] += phi[g * n_basis + i] * phi[g * n_basis + j];
            }
        }
    }
    solve6(ata, pinv.data(), G);

    const int side = 2 * window + 1;
    tables.assign(static_cast<size_t>(n_basis) * side * side, 0.0);
    std::vector<double> f(G);
    for (int oy = -window; oy <= window; oy++) {
        for (int ox = -window; ox <= window; ox++) {
            if (ox >= -near && ox < near && oy >= -near && oy < near) {
                continue; // rendered exactly by the caller
            }
            for (int g = 0; g < G; g++) {
                const double d = std::hypot((ox + 0.5 - grid[2 * g]) * di,
                                            (oy + 0.5 - grid[2 * g + 1]) * dq);
                f[g] = std::exp(-rate * d / dxy);
            }
            double c[n_basis];
            for (int m = 0; m < n_basis; m++) {
                c[m] = 0.0;
                for (int g = 0; g < G; g++) {
                    c[m] += pinv[m * G + g] * f[g];
                }
                tables[(static_cast<size_t>(m) * side + oy + window) * side + ox + window] =
                    c[m];
            }
            for (int g = 0; g < G; g++) {
                double fit = 0.0;
                for (int m = 0; m < n_basis; m++) {
                    fit += c[m] * phi[g * n_basis + m];
                }
                d_max_fit_error = std::max(d_max_fit_error, std::fabs(fit - f[g]));
            }
        }
    }
}

decay_fft::workspace::workspace(const decay_fft& engine) : d_engine(engine)
{
    const size_t plane = static_cast<size_t>(engine.d_ny) * engine.d_nx;
    const size_t bins = static_cast<size_t>(engine.d_ny) * engine.d_nxc;
    d_planes = fftw_array<float>(plane * n_basis);
    d_spectra = fftw_array<fftwf_complex>(bins * n_basis);
    d_product = fftw_array<fftwf_complex>(bins);
    d_result = fftw_array<float>(plane);
    std::fill(d_planes, d_planes + plane * n_basis, 0.0f);
}

decay_fft::workspace::~workspace()
{
    fftwf_free(d_planes);
    fftwf_free(d_spectra);
    fftwf_free(d_product);
    fftwf_free(d_result);
}

void decay_fft::workspace::deposit(long row, long col, float dx, float dy)
{
    const long ny = d_engine.d_ny, nx = d_engine.d_nx;
    const size_t at = static_cast<size_t>((row + ny) % ny) * nx + (col + nx) % nx;
    const size_t plane = static_cast<size_t>(ny) * nx;
    float* p = d_planes + at;
    p[0] += 1.0f;
    p[plane] += dx;
    p[2 * plane] += dy;
    p[3 * plane] += dx * dx;
    p[4 * plane] += dx * dy;
    p[5 * plane] += dy * dy;
    d_used.push_back(at);
}

void decay_fft::workspace::finish(float* const* dst)
{
    if (d_used.empty()) {
        return;
    }
    const decay_fft& e = d_engine;
    const size_t plane = static_cast<size_t>(e.d_ny) * e.d_nx;
    const size_t bins = static_cast<size_t>(e.d_ny) * e.d_nxc;
    fftwf_execute_dft_r2c(e.d_forward, d_planes, d_spectra);
    for (size_t k = 0; k < e.d_channels; k++) {
        const std::complex<float>* kern = e.d_kernels.data() + k * bins * n_basis;
        for (size_t bin = 0; bin < bins; bin++) {
            float re = 0.0f, im = 0.0f;
            const std::complex<float>* kb = kern + bin * n_basis;
            for (int m = 0; m < n_basis; m++) {
                const float sr = d_spectra[m * bins + bin][0];
                const float si = d_spectra[m * bins + bin][1];
                re += sr * kb[m].real() - si * kb[m].imag();
                im += sr * kb[m].imag() + si * kb[m].real();
            }
            d_product[bin][0] = re;
            d_product[bin][1] = im;
        }
        fftwf_execute_dft_c2r(e.d_backward, d_product, d_result);
        for (int i = 0; i < e.d_height; i++) {
            const float* src = d_result + static_cast<size_t>(i) * e.d_nx;
            float* row = dst[k] + static_cast<size_t>(i) * e.d_width;
            for (int j = 0; j < e.d_width; j++) {
                row[j] += src[j];
            }
        }
    }
    for (size_t at : d_used) {
        for (int m = 0; m < n_basis; m++) {
            d_planes[m * plane + at] = 0.0f;
        }
    }
    d_used.clear();
}

} // namespace rfml
} // namespace gr
