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
 * (0 included) starts a usable stream. One normal takes one 64-bit draw in about 99%
 * of the cases (8 bits pick one of 256 layers and the sign, 53 bits the position);
 * the wedges and the tail (|x| > 3.654) take more. The same seed gives the same
 * numbers on every run and machine with IEEE-754 doubles (the tables are computed
 * from constants at construction; no fast-math).
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

    //! One standard normal number.
    double normal()
    {
        const uint64_t bits = next_u64();
        const unsigned i = bits & 0xff;
        // 53-bit position in (-1, 1): the layer index and sign bits are not reused.
        const double u =
            static_cast<double>(static_cast<int64_t>(bits >> 11) - (int64_t{ 1 } << 52)) *
            0x1p-52;
        const double x = u * s_x[i];
        if (std::fabs(x) < s_x[i + 1]) {
            return x;
        }
        return slow(i, u, x);
    }

    //! n standard normal numbers as float32.
    void fill(float* out, size_t n)
    {
        for (size_t k = 0; k < n; k++) {
            out[k] = static_cast<float>(normal());
        }
    }

private:
    uint64_t d_s[4];

    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    double slow(unsigned i, double u, double x);

    static const double* const s_x; // 257 layer edges: s_x[0] = V / f(R), s_x[1] = R
    static const double* const s_f; // f(s_x[i]) = exp(-s_x[i]^2 / 2)
};

} // namespace rfml
} // namespace gr

#endif /* INCLUDED_RFML_GAUSSIAN_RNG_H */
