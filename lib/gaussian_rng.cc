/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <gnuradio/rfml/gaussian_rng.h>
#include <array>

namespace gr {
namespace rfml {

namespace {

// Marsaglia & Tsang (2000), 256 layers of equal area V under f(x) = exp(-x^2/2); the
// rightmost edge R and V are the constants for 256 layers.
constexpr double R = 3.6541528853610088;
constexpr double V = 0.00492867323399;

struct tables {
    std::array<double, 257> x;
    std::array<double, 257> f;
    tables()
    {
        x[0] = V / std::exp(-0.5 * R * R);
        x[1] = R;
        for (int i = 1; i < 255; i++) {
            x[i + 1] =
                std::sqrt(-2.0 * std::log(V / x[i] + std::exp(-0.5 * x[i] * x[i])));
        }
        x[255 + 1] = 0.0;
        for (int i = 0; i < 257; i++) {
            f[i] = std::exp(-0.5 * x[i] * x[i]);
        }
    }
};

const tables& zig()
{
    static const tables t;
    return t;
}

uint64_t splitmix64(uint64_t& z)
{
    uint64_t r = (z += 0x9e3779b97f4a7c15ULL);
    r = (r ^ (r >> 30)) * 0xbf58476d1ce4e5b9ULL;
    r = (r ^ (r >> 27)) * 0x94d049bb133111ebULL;
    return r ^ (r >> 31);
}

} // namespace

const double* const gaussian_rng::s_x = zig().x.data();
const double* const gaussian_rng::s_f = zig().f.data();

gaussian_rng::gaussian_rng(uint64_t seed) { this->seed(seed); }

void gaussian_rng::seed(uint64_t seed)
{
    for (auto& s : d_s) {
        s = splitmix64(seed);
    }
}

double gaussian_rng::slow(unsigned i, double u, double x)
{
    for (;;) {
        if (i == 0) {
            // The tail beyond R (Marsaglia 1964).
            double t, y;
            do {
                t = -std::log(uniform()) / R;
                y = -std::log(uniform());
            } while (y + y < t * t);
            return u < 0 ? -(R + t) : R + t;
        }
        // The wedge between layer i's rectangle and the curve.
        if (s_f[i + 1] + (s_f[i] - s_f[i + 1]) * uniform() < std::exp(-0.5 * x * x)) {
            return x;
        }
        const uint64_t bits = next_u64();
        i = bits & 0xff;
        u = static_cast<double>(static_cast<int64_t>(bits >> 11) - (int64_t{ 1 } << 52)) *
            0x1p-52;
        x = u * s_x[i];
        if (std::fabs(x) < s_x[i + 1]) {
            return x;
        }
    }
}

} // namespace rfml
} // namespace gr
