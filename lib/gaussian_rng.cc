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
    std::array<float, 256> w;
    std::array<uint32_t, 256> k;
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
        for (int i = 0; i < 256; i++) {
            w[i] = static_cast<float>(x[i] * 0x1p-23);
            k[i] = static_cast<uint32_t>(std::floor(0x1p23 * x[i + 1] / x[i]));
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
const float* const gaussian_rng::s_w = zig().w.data();
const uint32_t* const gaussian_rng::s_k = zig().k.data();

gaussian_rng::gaussian_rng(uint64_t seed) { this->seed(seed); }

void gaussian_rng::seed(uint64_t seed)
{
    for (auto& s : d_s) {
        s = splitmix64(seed);
    }
}

float gaussian_rng::slow(unsigned i, int32_t j)
{
    for (;;) {
        const double u = static_cast<double>(j) * 0x1p-23; // [-1, 1)
        const double x = u * s_x[i];
        if (i == 0) {
            // The tail beyond R (Marsaglia 1964).
            double t, y;
            do {
                t = -std::log(uniform()) / R;
                y = -std::log(uniform());
            } while (y + y < t * t);
            return static_cast<float>(u < 0 ? -(R + t) : R + t);
        }
        // The wedge between layer i's rectangle and the curve.
        if (s_f[i + 1] + (s_f[i] - s_f[i + 1]) * uniform() < std::exp(-0.5 * x * x)) {
            return static_cast<float>(x);
        }
        const uint32_t h = next_u32();
        i = h & 0xff;
        j = static_cast<int32_t>(h) >> 8;
        if (static_cast<uint32_t>(j < 0 ? -j : j) < s_k[i]) {
            return static_cast<float>(j) * s_w[i];
        }
    }
}

} // namespace rfml
} // namespace gr
