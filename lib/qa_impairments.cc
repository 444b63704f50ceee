/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <gnuradio/rfml/awgn_kernel.h>
#include <gnuradio/rfml/gaussian_rng.h>
#include <gnuradio/rfml/impairment_kernel.h>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

using gr::rfml::gaussian_rng;
using gr::rfml::impairment_kernel;
using gr::rfml::impairment_params;

namespace {

std::vector<gr_complex> noise(size_t n, uint64_t seed)
{
    gaussian_rng rng(seed);
    std::vector<gr_complex> x(n);
    for (auto& v : x) {
        const float re = static_cast<float>(rng.normal());
        v = gr_complex(re, static_cast<float>(rng.normal()));
    }
    return x;
}

impairment_params all_impairments(double drift_ppm)
{
    impairment_params p;
    p.timing_drift_ppm = drift_ppm;
    p.freq_offset = 0.013;
    p.phase = 0.4;
    p.phase_noise_std = 0.01;
    p.iq_gain_db = 0.8;
    p.iq_phase_deg = 4.0;
    p.dc_offset = gr_complex(0.05f, -0.02f);
    return p;
}

// The whole stream through one kernel, fed in the given buffer sizes (cycled), the
// unconsumed inputs passed again as a caller must.
std::vector<gr_complex> run(const impairment_params& p,
                            const std::vector<gr_complex>& x,
                            const std::vector<size_t>& sizes,
                            size_t max_out)
{
    impairment_kernel k(p, 7);
    std::vector<gr_complex> y, out(max_out);
    size_t pos = 0, fed = 0;
    for (size_t c = 0; fed < x.size(); c++) {
        fed = std::min(x.size(), fed + sizes[c % sizes.size()]);
        size_t consumed = 0;
        const size_t made = k.process(&x[pos], fed - pos, out.data(), max_out, consumed);
        y.insert(y.end(), out.begin(), out.begin() + made);
        pos += consumed;
    }
    for (;;) { // what the last inputs still give
        size_t consumed = 0;
        const size_t made =
            k.process(&x[pos], x.size() - pos, out.data(), max_out, consumed);
        y.insert(y.end(), out.begin(), out.begin() + made);
        pos += consumed;
        if (made == 0) {
            break;
        }
    }
    return y;
}

bool same_bits(const std::vector<gr_complex>& a, const std::vector<gr_complex>& b)
{
    return a.size() == b.size() &&
           std::memcmp(a.data(), b.data(), a.size() * sizeof(gr_complex)) == 0;
}

} // namespace

BOOST_AUTO_TEST_CASE(t_rng_same_seed_same_numbers_moments)
{
    gaussian_rng a(42), b(42), c(43);
    const size_t n = 1000000;
    double m1 = 0, m2 = 0, m4 = 0;
    size_t tail = 0, differ = 0;
    for (size_t i = 0; i < n; i++) {
        const double x = a.normal();
        BOOST_REQUIRE_EQUAL(x, b.normal());
        differ += x != c.normal();
        m1 += x;
        m2 += x * x;
        m4 += x * x * x * x;
        tail += std::fabs(x) > 3.6541528853610088; // beyond the ziggurat's base layer
    }
    BOOST_CHECK_GT(differ, n - 10);
    m1 /= n, m2 /= n, m4 /= n;
    // Standard errors for 1e6 draws: mean 1e-3, variance 1.4e-3, fourth moment 1e-2.
    BOOST_CHECK_SMALL(m1, 5e-3);
    BOOST_CHECK_CLOSE(m2, 1.0, 0.7);
    BOOST_CHECK_CLOSE(m4, 3.0, 1.7);
    // P(|x| > R) = 2.58e-4: 258 expected, sd 16.
    BOOST_CHECK(tail > 180 && tail < 340);
}

BOOST_AUTO_TEST_CASE(t_impairments_same_bits_whatever_the_buffers)
{
    const auto x = noise(100000, 1);
    for (double drift : { 0.0, 30.0, -400.0 }) {
        const auto p = all_impairments(drift);
        const auto whole = run(p, x, { x.size() }, 2 * x.size());
        BOOST_CHECK(same_bits(whole, run(p, x, { 1, 2, 3, 1000, 4093 }, 2 * x.size())));
        BOOST_CHECK(same_bits(whole, run(p, x, { 8192 }, 100))); // output-limited calls
        const double expected = x.size() * (1 + drift * 1e-6);
        BOOST_CHECK_LE(std::fabs(whole.size() - expected), 4);
    }
}

BOOST_AUTO_TEST_CASE(t_impairments_zero_is_identity_and_each_is_measured)
{
    const auto x = noise(4096, 2);
    impairment_kernel identity(impairment_params(), 0);
    std::vector<gr_complex> y(x.size());
    size_t consumed = 0;
    BOOST_CHECK_EQUAL(identity.process(x.data(), x.size(), y.data(), y.size(), consumed),
                      x.size());
    BOOST_CHECK_EQUAL(consumed, x.size());
    BOOST_CHECK(same_bits(x, y));

    // Frequency offset and phase: a constant input turns at f cycles per sample.
    impairment_params p;
    p.freq_offset = 0.02;
    p.phase = 1.0;
    std::vector<gr_complex> ones(20000, gr_complex(1.0f, 0.0f)), r(ones.size());
    impairment_kernel(p, 0).process(
        ones.data(), ones.size(), r.data(), r.size(), consumed);
    for (size_t n = 0; n < r.size(); n += 997) {
        const double want = 1.0 + 2 * M_PI * 0.02 * n;
        BOOST_CHECK_SMALL(std::abs(r[n] - gr_complex(std::polar(1.0, want))), 2e-6f);
    }

    // IQ imbalance and DC: I passes, Q' = g (cos(phi) Q - sin(phi) I), then + DC.
    impairment_params q;
    q.iq_gain_db = 1.0;
    q.iq_phase_deg = 5.0;
    q.dc_offset = gr_complex(0.1f, 0.05f);
    impairment_kernel(q, 0).process(x.data(), x.size(), y.data(), y.size(), consumed);
    const double g = std::pow(10.0, 1.0 / 20), phi = 5.0 * M_PI / 180;
    for (size_t n = 0; n < x.size(); n++) {
        const double want_q =
            g * (std::cos(phi) * x[n].imag() - std::sin(phi) * x[n].real());
        BOOST_CHECK_SMALL(y[n].real() - 0.1f - x[n].real(), 1e-6f);
        BOOST_CHECK_SMALL(y[n].imag() - 0.05 - want_q, 1e-5);
    }
}

BOOST_AUTO_TEST_CASE(t_impairments_phase_noise_is_a_seeded_wiener_walk)
{
    impairment_params p;
    p.phase_noise_std = 0.02;
    const size_t n = 200000;
    std::vector<gr_complex> ones(n, gr_complex(1.0f, 0.0f)), y(n);
    size_t consumed = 0;
    impairment_kernel(p, 3).process(ones.data(), n, y.data(), n, consumed);
    gaussian_rng steps(3); // the kernel's draws: float32 normals times the std
    double walk = 0, worst = 0, var = 0;
    for (size_t k = 0; k < n; k++) {
        walk += static_cast<double>(static_cast<float>(steps.normal()) * 0.02f);
        worst = std::max(
            worst,
            std::abs(std::arg(std::complex<double>(y[k]) * std::polar(1.0, -walk))));
        if (k) {
            const double d = std::arg(y[k] * std::conj(y[k - 1]));
            var += d * d;
        }
    }
    BOOST_CHECK_SMALL(worst, 2e-6);
    BOOST_CHECK_CLOSE(std::sqrt(var / (n - 1)), 0.02, 1.0);
}

BOOST_AUTO_TEST_CASE(t_impairments_bad_parameters_named)
{
    impairment_params p;
    p.phase_noise_std = -1;
    BOOST_CHECK_EXCEPTION(
        impairment_kernel(p, 0), std::invalid_argument, [](const auto& e) {
            return std::string(e.what()).find("phase_noise_std must be >= 0") !=
                   std::string::npos;
        });
    impairment_params q;
    q.freq_offset = std::numeric_limits<double>::quiet_NaN();
    BOOST_CHECK_EXCEPTION(
        impairment_kernel(q, 0), std::invalid_argument, [](const auto& e) {
            return std::string(e.what()).find("freq_offset must be finite") !=
                   std::string::npos;
        });
}

BOOST_AUTO_TEST_CASE(t_awgn_exact_snr_per_vector_and_invalid_vectors)
{
    const size_t L = 1024, nv = 50;
    auto x = noise(nv * L, 5);
    for (size_t v = 0; v < nv; v++) { // powers from 1e-4 to 1e4
        const float a = static_cast<float>(std::pow(10.0, -2.0 + 4.0 * v / (nv - 1)));
        for (size_t k = 0; k < L; k++) {
            x[v * L + k] *= a;
        }
    }
    x[3 * L + 7] = gr_complex(std::numeric_limits<float>::quiet_NaN(), 0.0f);
    std::fill(x.begin() + 4 * L, x.begin() + 5 * L, gr_complex(0.0f));
    std::vector<float> snr(nv);
    for (size_t v = 0; v < nv; v++) {
        snr[v] = -10.0f + v;
    }
    std::vector<gr_complex> y(x.size()), w(x.size());
    bool valid[nv];
    gaussian_rng rng(9);
    const size_t invalid = gr::rfml::add_awgn(
        x.data(), nv, L, snr.data(), 1, rng, y.data(), w.data(), valid);
    BOOST_CHECK_EQUAL(invalid, 2u);
    for (size_t v = 0; v < nv; v++) {
        double ps = 0, pn = 0;
        bool zeros = true;
        for (size_t k = 0; k < L; k++) {
            const size_t i = v * L + k;
            ps += std::norm(std::complex<double>(x[i]));
            pn += std::norm(std::complex<double>(w[i]));
            zeros = zeros && y[i] == gr_complex(0.0f) && w[i] == gr_complex(0.0f);
            if (v != 3 && v != 4) {
                BOOST_REQUIRE_EQUAL(y[i], x[i] + w[i]);
            }
        }
        BOOST_CHECK_EQUAL(valid[v], v != 3 && v != 4);
        if (!valid[v]) {
            BOOST_CHECK(zeros);
            continue;
        }
        BOOST_CHECK_SMALL(10 * std::log10(ps / pn) - snr[v], 1e-4);
    }

    // The planar writer: the same numbers for the same draws, as I then Q planes.
    std::vector<float> iq(nv * 2 * L), clean(nv * 2 * L);
    gaussian_rng again(9);
    gr::rfml::add_awgn_planar(
        x.data(), nv, L, snr.data(), 1, again, iq.data(), clean.data(), nullptr);
    for (size_t v = 0; v < nv; v++) {
        for (size_t k = 0; k < L; k += 31) {
            BOOST_REQUIRE_EQUAL(iq[v * 2 * L + k], y[v * L + k].real());
            BOOST_REQUIRE_EQUAL(iq[v * 2 * L + L + k], y[v * L + k].imag());
            if (v != 3) {
                BOOST_REQUIRE_EQUAL(clean[v * 2 * L + L + k], x[v * L + k].imag());
            }
        }
    }
}
