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

constexpr int n_mono = decay_fft::n_monomials;

// Monomials of the sub-pixel offset, up to degree 2.
void monomials(double dx, double dy, double* phi)
{
    phi[0] = 1.0;
    phi[1] = dx;
    phi[2] = dy;
    phi[3] = dx * dx;
    phi[4] = dx * dy;
    phi[5] = dy * dy;
}

// Upper triangular r with r^T r = a (n_mono x n_mono, row-major, positive definite).
void cholesky_upper(const double* a, double* r)
{
    std::fill(r, r + n_mono * n_mono, 0.0);
    for (int i = 0; i < n_mono; i++) {
        double d = a[i * n_mono + i];
        for (int k = 0; k < i; k++) {
            d -= r[k * n_mono + i] * r[k * n_mono + i];
        }
        r[i * n_mono + i] = std::sqrt(d);
        for (int j = i + 1; j < n_mono; j++) {
            double v = a[i * n_mono + j];
            for (int k = 0; k < i; k++) {
                v -= r[k * n_mono + i] * r[k * n_mono + j];
            }
            r[i * n_mono + j] = v / r[i * n_mono + i];
        }
    }
}

// Eigenvectors of the symmetric matrix a (destroyed) as the columns of v, sorted by
// decreasing eigenvalue (cyclic Jacobi rotations).
void eigen_symmetric(double* a, double* v)
{
    constexpr int n = n_mono;
    for (int i = 0; i < n * n; i++) {
        v[i] = (i % (n + 1)) == 0 ? 1.0 : 0.0;
    }
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0;
        for (int p = 0; p < n; p++) {
            for (int q = p + 1; q < n; q++) {
                off += a[p * n + q] * a[p * n + q];
            }
        }
        if (off < 1e-30) {
            break;
        }
        for (int p = 0; p < n; p++) {
            for (int q = p + 1; q < n; q++) {
                if (a[p * n + q] == 0.0) {
                    continue;
                }
                const double theta = (a[q * n + q] - a[p * n + p]) / (2.0 * a[p * n + q]);
                const double t = (theta >= 0 ? 1.0 : -1.0) /
                                 (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
                const double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < n; k++) {
                    const double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {
                    const double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < n; k++) {
                    const double vkp = v[k * n + p], vkq = v[k * n + q];
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    for (int i = 0; i < n; i++) { // selection sort of the columns
        int best = i;
        for (int j = i + 1; j < n; j++) {
            if (a[j * n + j] > a[best * n + best]) {
                best = j;
            }
        }
        std::swap(a[i * n + i], a[best * n + best]);
        for (int k = 0; k < n; k++) {
            std::swap(v[k * n + i], v[k * n + best]);
        }
    }
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

    // The grid of sub-pixel offsets, the monomials A (G x 6) on it, A^T A = R^T R, and
    // Q = A R^-1 (orthonormal columns): the least-squares fit of f on the monomials is
    // Q (Q^T f).
    constexpr int G = fit_points * fit_points;
    std::vector<double> grid(2 * G), q(G * n_mono);
    double ata[n_mono * n_mono] = {}, r[n_mono * n_mono], rinv[n_mono * n_mono] = {};
    for (int g = 0; g < G; g++) {
        grid[2 * g] = (g % fit_points) / (fit_points - 1.0) - 0.5;
        grid[2 * g + 1] = (g / fit_points) / (fit_points - 1.0) - 0.5;
        double phi[n_mono];
        monomials(grid[2 * g], grid[2 * g + 1], phi);
        std::copy(phi, phi + n_mono, &q[g * n_mono]);
        for (int a = 0; a < n_mono; a++) {
            for (int b = 0; b < n_mono; b++) {
                ata[a * n_mono + b] += phi[a] * phi[b];
            }
        }
    }
    cholesky_upper(ata, r);
    for (int c = 0; c < n_mono; c++) { // back substitution: r rinv = I
        for (int row = n_mono - 1; row >= 0; row--) {
            double v = row == c ? 1.0 : 0.0;
            for (int k = row + 1; k < n_mono; k++) {
                v -= r[row * n_mono + k] * rinv[k * n_mono + c];
            }
            rinv[row * n_mono + c] = v / r[row * n_mono + row];
        }
    }
    for (int g = 0; g < G; g++) { // q = A rinv, in place row by row
        double row[n_mono] = {};
        for (int c = 0; c < n_mono; c++) {
            for (int k = 0; k < n_mono; k++) {
                row[c] += q[g * n_mono + k] * rinv[k * n_mono + c];
            }
        }
        std::copy(row, row + n_mono, &q[g * n_mono]);
    }

    // Only the shape of a pixel matters: distances are in pixel diagonals.
    const double di = 1.0 / width;
    const double dq = 1.0 / height;
    const double dxy = std::hypot(di, dq);
    auto exact = [&](size_t k, int ox, int oy, int g) {
        const double d =
            std::hypot((ox + 0.5 - grid[2 * g]) * di, (oy + 0.5 - grid[2 * g + 1]) * dq);
        return std::exp(-rates[k] * d / dxy);
    };
    auto far = [](int ox, int oy) {
        return !(ox >= -near && ox < near && oy >= -near && oy < near);
    };

    // X = Q^T f for every far offset of every channel; the best rank-r basis shared by
    // all channels is spanned by the top eigenvectors W of sum X X^T.
    std::vector<std::vector<double>> x(d_channels);
    double gram[n_mono * n_mono] = {}, w[n_mono * n_mono];
    for (size_t k = 0; k < d_channels; k++) {
        const int b = windows[k], side = 2 * b + 1;
        x[k].assign(static_cast<size_t>(side) * side * n_mono, 0.0);
        for (int oy = -b; oy <= b; oy++) {
            for (int ox = -b; ox <= b; ox++) {
                if (!far(ox, oy)) {
                    continue; // rendered exactly by the caller
                }
                double* xo = &x[k][((oy + b) * side + ox + b) * n_mono];
                for (int g = 0; g < G; g++) {
                    const double f = exact(k, ox, oy, g);
                    for (int c = 0; c < n_mono; c++) {
                        xo[c] += q[g * n_mono + c] * f;
                    }
                }
                for (int a = 0; a < n_mono; a++) {
                    for (int c = 0; c < n_mono; c++) {
                        gram[a * n_mono + c] += xo[a] * xo[c];
                    }
                }
            }
        }
    }
    eigen_symmetric(gram, w);
    // Deposits: psi_l(d) = sum_c W[c][l] (rinv^T phi(d))_c.
    for (int l = 0; l < rank; l++) {
        for (int m = 0; m < n_mono; m++) {
            double v = 0.0;
            for (int c = 0; c < n_mono; c++) {
                v += w[c * n_mono + l] * rinv[m * n_mono + c];
            }
            d_project[l * n_mono + m] = v;
        }
    }

    // Strides of whole 32-byte units keep every plane as aligned as the planned ones.
    d_plane = (static_cast<size_t>(d_ny) * d_nx + 7) & ~size_t(7);
    d_bins = (static_cast<size_t>(d_ny) * d_nxc + 3) & ~size_t(3);
    const size_t plane = d_plane;
    const size_t bins = d_bins;
    d_kernels.resize(d_channels * bins * rank);

    std::lock_guard<std::mutex> lock(gr::fft::planner::mutex());
    float* real = fftw_array<float>(plane * rank);
    fftwf_complex* spec = fftw_array<fftwf_complex>(bins * rank);
    float* out = fftw_array<float>(plane);
    // One plane per transform: all at once spill the L2 cache and run slower.
    d_forward = fftwf_plan_dft_r2c_2d(d_ny, d_nx, real, spec, FFTW_MEASURE);
    d_backward = fftwf_plan_dft_c2r_2d(d_ny, d_nx, spec, out, FFTW_MEASURE);
    if (!d_forward || !d_backward) {
        throw std::runtime_error("decay_fft: FFTW could not plan a " +
                                 std::to_string(d_ny) + "x" + std::to_string(d_nx) +
                                 " transform");
    }
    const float scale = 1.0f / (static_cast<float>(d_ny) * d_nx);
    for (size_t k = 0; k < d_channels; k++) {
        const int b = windows[k], side = 2 * b + 1;
        std::fill(real, real + plane * rank, 0.0f);
        for (int oy = -b; oy <= b; oy++) {
            for (int ox = -b; ox <= b; ox++) {
                if (!far(ox, oy)) {
                    continue;
                }
                const double* xo = &x[k][((oy + b) * side + ox + b) * n_mono];
                double t[rank];
                for (int l = 0; l < rank; l++) { // table of plane l: X W
                    t[l] = 0.0;
                    for (int c = 0; c < n_mono; c++) {
                        t[l] += xo[c] * w[c * n_mono + l];
                    }
                    const size_t at = static_cast<size_t>((oy + d_ny) % d_ny) * d_nx +
                                      (ox + d_nx) % d_nx;
                    real[l * plane + at] = static_cast<float>(t[l]);
                }
                for (int g = 0; g < G; g++) { // the fit error, measured on the grid
                    double fit = 0.0;
                    for (int l = 0; l < rank; l++) {
                        double psi = 0.0;
                        for (int c = 0; c < n_mono; c++) {
                            psi += w[c * n_mono + l] * q[g * n_mono + c];
                        }
                        fit += t[l] * psi;
                    }
                    d_max_fit_error =
                        std::max(d_max_fit_error, std::fabs(fit - exact(k, ox, oy, g)));
                }
            }
        }
        for (int l = 0; l < rank; l++) {
            fftwf_execute_dft_r2c(d_forward, real + l * plane, spec + l * bins);
        }
        for (size_t bin = 0; bin < size_t(d_ny) * d_nxc; bin++) {
            for (int l = 0; l < rank; l++) {
                const fftwf_complex& v = spec[l * bins + bin];
                d_kernels[(k * bins + bin) * rank + l] = { v[0] * scale, v[1] * scale };
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

decay_fft::workspace::workspace(const decay_fft& engine) : d_engine(engine)
{
    const size_t plane = engine.d_plane;
    const size_t bins = engine.d_bins;
    d_planes = fftw_array<float>(plane * rank);
    d_spectra = fftw_array<fftwf_complex>(bins * rank);
    d_product = fftw_array<fftwf_complex>(bins * engine.d_channels);
    d_result = fftw_array<float>(plane);
    std::fill(d_planes, d_planes + plane * rank, 0.0f);
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
    const size_t plane = d_engine.d_plane;
    double phi[n_mono];
    monomials(dx, dy, phi);
    for (int l = 0; l < rank; l++) {
        double psi = 0.0;
        for (int m = 0; m < n_mono; m++) {
            psi += d_engine.d_project[l * n_mono + m] * phi[m];
        }
        d_planes[l * plane + at] += static_cast<float>(psi);
    }
    d_used.push_back(at);
}

void decay_fft::workspace::finish(float* const* dst)
{
    if (d_used.empty()) {
        return;
    }
    const decay_fft& e = d_engine;
    const size_t plane = e.d_plane;
    const size_t bins = e.d_bins;
    for (int m = 0; m < rank; m++) {
        fftwf_execute_dft_r2c(e.d_forward, d_planes + m * plane, d_spectra + m * bins);
    }
    // Channel k's spectrum = sum_m D_m * T_km, for all channels in one pass over D.
    for (size_t bin = 0; bin < size_t(e.d_ny) * e.d_nxc; bin++) {
        float sr[rank], si[rank];
        for (int m = 0; m < rank; m++) {
            sr[m] = d_spectra[m * bins + bin][0];
            si[m] = d_spectra[m * bins + bin][1];
        }
        for (size_t k = 0; k < e.d_channels; k++) {
            const std::complex<float>* kb = e.d_kernels.data() + (k * bins + bin) * rank;
            float re = 0.0f, im = 0.0f;
            for (int m = 0; m < rank; m++) {
                re += sr[m] * kb[m].real() - si[m] * kb[m].imag();
                im += sr[m] * kb[m].imag() + si[m] * kb[m].real();
            }
            d_product[k * bins + bin][0] = re;
            d_product[k * bins + bin][1] = im;
        }
    }
    for (size_t k = 0; k < e.d_channels; k++) {
        fftwf_execute_dft_c2r(e.d_backward, d_product + k * bins, d_result);
        for (int i = 0; i < e.d_height; i++) {
            const float* src = d_result + static_cast<size_t>(i) * e.d_nx;
            float* row = dst[k] + static_cast<size_t>(i) * e.d_width;
            for (int j = 0; j < e.d_width; j++) {
                row[j] += src[j];
            }
        }
    }
    for (size_t at : d_used) {
        for (int m = 0; m < rank; m++) {
            d_planes[m * plane + at] = 0.0f;
        }
    }
    d_used.clear();
}

} // namespace rfml
} // namespace gr
