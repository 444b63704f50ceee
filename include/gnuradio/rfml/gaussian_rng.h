/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_GAUSSIAN_RNG_H
#define INCLUDED_RFML_GAUSSIAN_RNG_H

#include <gnuradio/rfml/api.h>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace gr {
namespace rfml {

/*!
 * \brief Seeded standard normal numbers: xoshiro256++ bits, Marsaglia-Tsang ziggurat.
 * \ingroup rfml
 *
 * The 64-bit seed is expanded into the 256-bit state by splitmix64, so every seed
 * (0 included) starts a usable stream. One normal takes half a 64-bit draw in about
 * 99% of the cases (8 bits pick one of 256 layers, 24 bits the signed position, the
 * resolution of the float32 result); the wedges and the tail (|x| > 3.654) take more. The
 * same seed gives the same numbers on every run of a build (the tables are computed
 * from constants with the C library's exp and log at start-up; no fast-math).
 */
class RFML_API gaussian_rng
{
public:
    explicit gaussian_rng(uint64_t seed = 0);

    //! Restart the stream of a seed.
    void seed(uint64_t seed);

    //! 64 random bits.
    uint64_t next_u64()
    {
        const uint64_t result = rotl(d_s[0] + d_s[3], 23) + d_s[0];
        const uint64_t t = d_s[1] << 17;
        d_s[2] ^= d_s[0];
        d_s[3] ^= d_s[1];
        d_s[1] ^= d_s[2];
        d_s[0] ^= d_s[3];
        d_s[2] ^= t;
        d_s[3] = rotl(d_s[3], 45);
        return result;
    }

    //! Uniform in (0, 1], 53 bits.
    double uniform() { return static_cast<double>((next_u64() >> 11) + 1) * 0x1p-53; }

    //! One standard normal number (24-bit positions: float32 resolution).
    float normal()
    {
        const uint32_t h = next_u32();
        const unsigned i = h & 0xff;                    // the layer
        const int32_t j = static_cast<int32_t>(h) >> 8; // signed position, 24 bits
        if (static_cast<uint32_t>(j < 0 ? -j : j) < s_k[i]) {
            return static_cast<float>(j) * s_w[i]; // inside the layer's rectangle
        }
        return slow(i, j);
    }

    //! n standard normal numbers.
    void fill(float* out, size_t n)
    {
        for (size_t k = 0; k < n; k++) {
            out[k] = normal();
        }
    }

private:
    uint64_t d_s[4];
    uint32_t d_spare = 0; // the upper half of the last 64-bit draw, when not yet used
    bool d_has_spare = false;

    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

    // 32 random bits: the two halves of each 64-bit draw in turn (the stream of
    // normals does not depend on how it is split into fill() calls).
    uint32_t next_u32()
    {
        if (d_has_spare) {
            d_has_spare = false;
            return d_spare;
        }
        const uint64_t bits = next_u64();
        d_spare = static_cast<uint32_t>(bits >> 32);
        d_has_spare = true;
        return static_cast<uint32_t>(bits);
    }

    float slow(unsigned i, int32_t j);

    static const double* const s_x;   // 257 layer edges: s_x[0] = V / f(R), s_x[1] = R
    static const double* const s_f;   // f(s_x[i]) = exp(-s_x[i]^2 / 2)
    static const float* const s_w;    // s_x[i] / 2^23
    static const uint32_t* const s_k; // 2^23 s_x[i+1] / s_x[i]: |j| below is inside
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_GAUSSIAN_RNG_H */
