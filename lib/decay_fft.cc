/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "decay_fft.h"
#include "target_clones.h"
#include <gnuradio/fft/fft.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
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
        if (2 * int64_t(b) + 1 > std::min(d_ny, d_nx) || b < near) {
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

    // Strides of whole 32-byte units keep every row and plane as aligned as the planned
    // ones (the plans are executed on other rows and planes of the same arrays).
    d_plane = (static_cast<size_t>(d_ny) * d_nx + 7) & ~size_t(7);
    d_stride = (static_cast<size_t>(d_nxc) + 3) & ~size_t(3);
    d_line_stride = (static_cast<size_t>(d_nx) + 7) & ~size_t(7);
    d_bins = static_cast<size_t>(d_ny) * d_stride;
    const size_t plane = d_plane;
    const size_t half = static_cast<size_t>(d_ny) * d_nxc;
    d_kernels.assign(2 * static_cast<size_t>(d_nxc) * d_ny * d_channels * rank, 0.0f);

    std::lock_guard<std::mutex> lock(gr::fft::planner::mutex());
    float* real = fftw_array<float>(plane);
    fftwf_complex* spec = fftw_array<fftwf_complex>(std::max(half, d_bins));
    fftwf_complex* column = fftw_array<fftwf_complex>(d_ny);
    fftwf_plan table = fftwf_plan_dft_r2c_2d(d_ny, d_nx, real, spec, FFTW_ESTIMATE);
    const int n_col = d_ny;
    const int stride = static_cast<int>(d_stride);
    d_row_forward = fftwf_plan_dft_r2c_1d(d_nx, real, spec, FFTW_MEASURE);
    d_row_backward = fftwf_plan_dft_c2r_1d(d_nx, spec, real, FFTW_MEASURE);
    // One column at a time, from and to the strided rows: measured faster than blocks of
    // columns (the 8 columns of a cache line stay in cache from one column to the next).
    // FFTW may only run a plan on arrays aligned as the ones it was planned with, so the
    // odd columns (8 bytes past a 16-byte boundary) have plans of their own.
    for (int odd = 0; odd < 2; odd++) {
        d_col_forward[odd] = fftwf_plan_many_dft(1,
                                                 &n_col,
                                                 1,
                                                 spec + odd,
                                                 nullptr,
                                                 stride,
                                                 1,
                                                 column,
                                                 nullptr,
                                                 1,
                                                 1,
                                                 FFTW_FORWARD,
                                                 FFTW_MEASURE);
        d_col_backward[odd] = fftwf_plan_many_dft(1,
                                                  &n_col,
                                                  1,
                                                  column,
                                                  nullptr,
                                                  1,
                                                  1,
                                                  spec + odd,
                                                  nullptr,
                                                  stride,
                                                  1,
                                                  FFTW_BACKWARD,
                                                  FFTW_MEASURE);
    }
    if (!table || !d_row_forward || !d_row_backward || !d_col_forward[0] ||
        !d_col_forward[1] || !d_col_backward[0] || !d_col_backward[1]) {
        throw std::runtime_error("decay_fft: FFTW could not plan a " +
                                 std::to_string(d_ny) + "x" + std::to_string(d_nx) +
                                 " transform");
    }
    const float scale = 1.0f / (static_cast<float>(d_ny) * d_nx);
    d_windows = windows;
    d_tables.resize(d_channels);
    for (size_t k = 0; k < d_channels; k++) {
        const int b = windows[k], side = 2 * b + 1;
        d_tables[k].assign(static_cast<size_t>(rank) * side * side, 0.0f);
        for (int l = 0; l < rank; l++) {
            std::fill(real, real + plane, 0.0f);
            for (int oy = -b; oy <= b; oy++) {
                for (int ox = -b; ox <= b; ox++) {
                    if (!far(ox, oy)) {
                        continue;
                    }
                    const double* xo = &x[k][((oy + b) * side + ox + b) * n_mono];
                    double t = 0.0; // table of plane l: X W
                    for (int c = 0; c < n_mono; c++) {
                        t += xo[c] * w[c * n_mono + l];
                    }
                    const size_t at = static_cast<size_t>((oy + d_ny) % d_ny) * d_nx +
                                      (ox + d_nx) % d_nx;
                    real[at] = static_cast<float>(t);
                    d_tables[k][(static_cast<size_t>(l) * side + oy + b) * side + ox +
                                b] = static_cast<float>(t);
                }
            }
            fftwf_execute_dft_r2c(table, real, spec);
            for (int row = 0; row < d_ny; row++) {
                for (int col = 0; col < d_nxc; col++) {
                    const fftwf_complex& v = spec[static_cast<size_t>(row) * d_nxc + col];
                    float* dst = &d_kernels[2 * kernel_index(row, col, k, l)];
                    dst[0] = v[0] * scale;
                    dst[1] = v[1] * scale;
                }
            }
        }
        // The fit error, measured on the offset grid.
        for (int oy = -b; oy <= b; oy++) {
            for (int ox = -b; ox <= b; ox++) {
                if (!far(ox, oy)) {
                    continue;
                }
                const double* xo = &x[k][((oy + b) * side + ox + b) * n_mono];
                for (int g = 0; g < G; g++) {
                    double fit = 0.0;
                    for (int l = 0; l < rank; l++) {
                        double t = 0.0, psi = 0.0;
                        for (int c = 0; c < n_mono; c++) {
                            t += xo[c] * w[c * n_mono + l];
                            psi += w[c * n_mono + l] * q[g * n_mono + c];
                        }
                        fit += t * psi;
                    }
                    d_max_fit_error =
                        std::max(d_max_fit_error, std::fabs(fit - exact(k, ox, oy, g)));
                }
            }
        }
    }
    fftwf_destroy_plan(table);
    fftwf_free(real);
    fftwf_free(spec);
    fftwf_free(column);
}

decay_fft::~decay_fft()
{
    std::lock_guard<std::mutex> lock(gr::fft::planner::mutex());
    for (fftwf_plan p : { d_row_forward,
                          d_row_backward,
                          d_col_forward[0],
                          d_col_forward[1],
                          d_col_backward[0],
                          d_col_backward[1] }) {
        if (p) {
            fftwf_destroy_plan(p);
        }
    }
}

decay_fft::workspace::workspace(const decay_fft& engine) : d_engine(engine)
{
    const size_t rows = static_cast<size_t>(engine.d_ny);
    d_line_in = fftw_array<float>(engine.d_line_stride * rank);
    d_rows = fftw_array<fftwf_complex>(engine.d_bins * rank);
    d_column = fftw_array<fftwf_complex>((rank + engine.d_channels) * rows);
    d_channel = fftw_array<fftwf_complex>(engine.d_bins * engine.d_channels);
    d_line = fftw_array<float>(engine.d_nx);
    std::memset(d_rows, 0, engine.d_bins * rank * sizeof(fftwf_complex));
    d_row_start.assign(rows + 1, 0);
}

decay_fft::workspace::~workspace()
{
    fftwf_free(d_line_in);
    fftwf_free(d_rows);
    fftwf_free(d_column);
    fftwf_free(d_channel);
    fftwf_free(d_line);
}

void decay_fft::basis(float dx, float dy, float* psi) const
{
    double phi[n_mono];
    monomials(dx, dy, phi);
    for (int l = 0; l < rank; l++) {
        double v = 0.0;
        for (int m = 0; m < n_mono; m++) {
            v += d_project[l * n_mono + m] * phi[m];
        }
        psi[l] = static_cast<float>(v);
    }
}

namespace {

// row[j] += sum_l psi[l] * table_l[j] for j < n; table_l = table + l * step.
RFML_TARGET_CLONES
void add_table_row(float* row, const float* table, size_t step, const float* psi, int n)
{
    const float p0 = psi[0], p1 = psi[1], p2 = psi[2], p3 = psi[3];
    static_assert(decay_fft::rank == 4, "add_table_row sums four planes");
    for (int j = 0; j < n; j++) {
        row[j] += p0 * table[j] + p1 * table[step + j] + p2 * table[2 * step + j] +
                  p3 * table[3 * step + j];
    }
}

} // namespace

void decay_fft::add_far_field(size_t channel,
                              float* acc,
                              int height,
                              int width,
                              long row,
                              long col,
                              float dx,
                              float dy) const
{
    float psi[rank];
    basis(dx, dy, psi);
    const long b = d_windows[channel], side = 2 * b + 1;
    const long i0 = std::max(row - b, 0L), i1 = std::min(row + b, long(height) - 1);
    const long j0 = std::max(col - b, 0L), j1 = std::min(col + b, long(width) - 1);
    if (i0 > i1 || j0 > j1) {
        return;
    }
    const float* table = d_tables[channel].data();
    const size_t step = static_cast<size_t>(side) * side;
    for (long i = i0; i <= i1; i++) {
        add_table_row(acc + static_cast<size_t>(i) * width + j0,
                      table + (i - row + b) * side + (j0 - col + b),
                      step,
                      psi,
                      int(j1 - j0 + 1));
    }
}

void decay_fft::workspace::deposit(long row, long col, float dx, float dy)
{
    const long ny = d_engine.d_ny, nx = d_engine.d_nx;
    deposit_value d;
    d.row = static_cast<int>((row + ny) % ny);
    d.col = static_cast<int>((col + nx) % nx);
    d_engine.basis(dx, dy, d.psi);
    d_deposits.push_back(d);
}

namespace {

// out_k[r] = sum_l in_l[r] * kernel_kl[r] for r < rows, complex (interleaved re, im):
// in_l at in + 2 * l * rows, out_k at out + 2 * k * rows, kernel_kl at kernel + 2 * (k *
// rank + l) * rows.
RFML_TARGET_CLONES
void spectral_products(
    const float* in, const float* kernel, float* out, size_t rows, size_t channels)
{
    constexpr int rank = decay_fft::rank;
    const size_t n = 2 * rows;
    for (size_t k = 0; k < channels; k++) {
        float* o = out + k * n;
        const float* t = kernel + k * rank * n;
        for (size_t q = 0; q < n; q += 2) {
            float re = 0.0f, im = 0.0f;
            for (int l = 0; l < rank; l++) {
                const float* a = in + l * n + q;
                const float* b = t + l * n + q;
                re += a[0] * b[0] - a[1] * b[1];
                im += a[0] * b[1] + a[1] * b[0];
            }
            o[q] = re;
            o[q + 1] = im;
        }
    }
}

} // namespace

void decay_fft::workspace::finish(float* const* dst)
{
    if (d_deposits.empty()) {
        return;
    }
    const decay_fft& e = d_engine;
    const size_t bins = e.d_bins;
    const size_t stride = e.d_stride;
    const size_t ny = e.d_ny, line = e.d_line_stride;
    // The deposits by plane row (stable: the sums keep the sample order), then the r2c
    // of the rows that hold any, built one row of every plane at a time.
    std::fill(d_row_start.begin(), d_row_start.end(), 0);
    for (const auto& d : d_deposits) {
        d_row_start[d.row + 1]++;
    }
    for (size_t r = 0; r < ny; r++) {
        d_row_start[r + 1] += d_row_start[r];
    }
    d_sorted.resize(d_deposits.size());
    d_row_next.assign(d_row_start.begin(), d_row_start.end() - 1);
    for (const auto& d : d_deposits) {
        d_sorted[d_row_next[d.row]++] = d;
    }
    for (size_t r = 0; r < ny; r++) {
        const int begin = d_row_start[r], end = d_row_start[r + 1];
        if (begin == end) {
            continue;
        }
        std::fill(d_line_in, d_line_in + rank * line, 0.0f);
        for (int i = begin; i < end; i++) {
            for (int l = 0; l < rank; l++) {
                d_line_in[l * line + d_sorted[i].col] += d_sorted[i].psi[l];
            }
        }
        for (int l = 0; l < rank; l++) {
            fftwf_execute_dft_r2c(
                e.d_row_forward, d_line_in + l * line, d_rows + l * bins + r * stride);
        }
    }
    for (int col = 0; col < e.d_nxc; col++) {
        for (int l = 0; l < rank; l++) {
            fftwf_execute_dft(
                e.d_col_forward[col & 1], d_rows + l * bins + col, d_column + l * ny);
        }
        spectral_products(reinterpret_cast<const float*>(d_column),
                          e.d_kernels.data() + 2 * e.kernel_index(0, col, 0, 0),
                          reinterpret_cast<float*>(d_column + rank * ny),
                          ny,
                          e.d_channels);
        for (size_t k = 0; k < e.d_channels; k++) {
            fftwf_execute_dft(e.d_col_backward[col & 1],
                              d_column + (rank + k) * ny,
                              d_channel + k * bins + col);
        }
    }
    for (size_t k = 0; k < e.d_channels; k++) {
        for (int i = 0; i < e.d_height; i++) {
            fftwf_execute_dft_c2r(
                e.d_row_backward, d_channel + k * bins + i * stride, d_line);
            float* row = dst[k] + static_cast<size_t>(i) * e.d_width;
            for (int j = 0; j < e.d_width; j++) {
                row[j] += d_line[j];
            }
        }
    }
    for (size_t r = 0; r < ny; r++) {
        if (d_row_start[r] != d_row_start[r + 1]) {
            for (int l = 0; l < rank; l++) {
                std::memset(
                    d_rows + l * bins + r * stride, 0, stride * sizeof(fftwf_complex));
            }
        }
    }
    d_deposits.clear();
}

} // namespace rfml
} // namespace gr
