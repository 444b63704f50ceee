/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <gnuradio/rfml/constellation.h>
#include <gnuradio/rfml/constellation_renderer.h>
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using gr::rfml::constellation_renderer;
using gr::rfml::render_config;

namespace {

render_config histogram(int size, double extent)
{
    render_config c;
    c.mode = render_config::render_mode::histogram;
    c.height = c.width = size;
    c.extent = extent;
    c.normalise = false;
    return c;
}

std::vector<gr_complex> noise(size_t n, float sigma, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, sigma);
    std::vector<gr_complex> z(n);
    for (auto& s : z) {
        s = { g(rng), g(rng) };
    }
    return z;
}

// Largest |a - b| over one channel divided by the channel maximum of b.
double
relative_error(const std::vector<float>& a, const std::vector<float>& b, size_t plane)
{
    double worst = 0.0;
    for (size_t start = 0; start < a.size(); start += plane) {
        double peak = 0.0, diff = 0.0;
        for (size_t p = start; p < start + plane; p++) {
            peak = std::max(peak, double(b[p]));
            diff = std::max(diff, std::fabs(double(a[p]) - b[p]));
        }
        worst = std::max(worst, diff / peak);
    }
    return worst;
}

} // namespace

BOOST_AUTO_TEST_CASE(histogram_puts_each_sample_in_its_pixel)
{
    // 4x4 pixels over [-2, 2]: pixel (row, col) covers I in [col - 2, col - 1),
    // Q in (1 - row, 2 - row].
    constellation_renderer r(histogram(4, 2.0));
    const std::vector<gr_complex> z = {
        { -1.5f, 1.5f },   // row 0, col 0
        { 0.5f, -0.5f },   // row 2, col 2
        { 0.5f, -0.5f },   // again
        { 1.99f, -1.99f }, // row 3, col 3
        { 2.0f, 0.0f },    // I = +extent is outside (half-open)
        { 0.0f, 2.0f },    // Q = +extent is the top row: row 0, col 2
    };
    std::vector<float> out(16);
    std::vector<int64_t> bad(1);
    r.render(z.data(), 1, z.size(), out.data(), bad.data(), 1);
    std::vector<float> expected(16, 0.0f);
    expected[0 * 4 + 0] = 1;
    expected[2 * 4 + 2] = 2;
    expected[3 * 4 + 3] = 1;
    expected[0 * 4 + 2] = 1;
    for (size_t p = 0; p < 16; p++) {
        BOOST_CHECK_EQUAL(out[p], expected[p]);
    }
    BOOST_CHECK_EQUAL(bad[0], 0);
}

BOOST_AUTO_TEST_CASE(nan_and_inf_samples_are_skipped_and_counted)
{
    constellation_renderer r(histogram(8, 2.5));
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<gr_complex> z = {
        { 0.1f, 0.1f }, { nan, 0.0f },  { 0.0f, inf },  { 0.2f, 0.2f }, // vector 0
        { 0.1f, 0.1f }, { 0.1f, 0.1f }, { 0.1f, 0.1f }, { -inf, 1.0f }  // vector 1
    };
    std::vector<float> out(2 * 64);
    std::vector<int64_t> bad(2);
    r.render(z.data(), 2, 4, out.data(), bad.data(), 2);
    BOOST_CHECK_EQUAL(bad[0], 2);
    BOOST_CHECK_EQUAL(bad[1], 1);
    double total0 = 0, total1 = 0;
    for (size_t p = 0; p < 64; p++) {
        total0 += out[p];
        total1 += out[64 + p];
    }
    BOOST_CHECK_EQUAL(total0, 2.0);
    BOOST_CHECK_EQUAL(total1, 3.0);
}

BOOST_AUTO_TEST_CASE(decay_single_sample_matches_the_formula)
{
    render_config c; // DenoMAE defaults, direct sums
    c.method = render_config::render_method::direct;
    c.normalise = false;
    constellation_renderer r(c);
    const gr_complex s(0.3f, -0.7f);
    std::vector<float> out(r.image_size());
    r.render(&s, 1, 1, out.data(), nullptr, 1);

    const double d = 5.0 / 224, dxy = std::sqrt(2.0) * d;
    const double u = (0.3 + 2.5) / d, v = (2.5 + 0.7) / d;
    const long au = std::lrint(u), av = std::lrint(v);
    const double rates[3] = { 1.0, 0.2, 0.1 };
    const int windows[3] = { 5, 25, 50 };
    for (int k = 0; k < 3; k++) {
        const float* img = out.data() + k * 224 * 224;
        for (int i : { int(av), int(av) - windows[k], int(av) + 3 }) {
            for (int j : { int(au), int(au) + windows[k], int(au) - 2 }) {
                const double dist = std::hypot((j + 0.5 - u) * d, (i + 0.5 - v) * d);
                const double expected = std::exp(-rates[k] * dist / dxy);
                BOOST_CHECK_CLOSE(img[i * 224 + j], expected, 1e-3);
            }
        }
        // just outside the window
        BOOST_CHECK_EQUAL(img[av * 224 + au + windows[k] + 1], 0.0f);
        BOOST_CHECK_EQUAL(img[(av - windows[k] - 1) * 224 + au], 0.0f);
    }
}

BOOST_AUTO_TEST_CASE(decay_fft_agrees_with_direct_sums)
{
    render_config c;
    c.normalise = false;
    constellation_renderer fft(c);
    c.method = render_config::render_method::direct;
    constellation_renderer direct(c);
    // Wide noise: many samples near or beyond the edge take the exact path as well.
    const auto z = noise(2 * 512, 1.2f, 7);
    std::vector<float> a(2 * fft.image_size()), b(a.size());
    fft.render(z.data(), 2, 512, a.data(), nullptr, 2);
    direct.render(z.data(), 2, 512, b.data(), nullptr, 1);
    const double err = relative_error(a, b, 224 * 224);
    BOOST_TEST_MESSAGE("fft vs direct: " << err << ", fit bound " << fft.max_fit_error());
    BOOST_CHECK_LT(err, 1e-3);
    BOOST_CHECK_LT(fft.max_fit_error(), 2e-3);
    BOOST_CHECK_EQUAL(direct.max_fit_error(), 0.0);
}

BOOST_AUTO_TEST_CASE(small_windows_summed_together_equal_one_window_at_a_time)
{
    // Windows up to 7 pixels (and the FFT channels' near fields) are summed in one pass
    // over the union of their boxes; samples whose box crosses the left or right edge
    // take the one-window-at-a-time loop, as do all windows once one is wide (50).
    render_config c;
    c.method = render_config::render_method::direct;
    c.normalise = false;
    c.rates = { 1.0, 0.5 };
    c.windows = { 5, 7 };
    constellation_renderer together(c);
    c.rates = { 1.0, 0.5, 0.1 };
    c.windows = { 5, 7, 50 };
    constellation_renderer apart(c);
    const auto z = noise(2 * 400, 1.2f, 11); // many boxes cross the edges
    const size_t plane = 224 * 224;
    std::vector<float> a(2 * 2 * plane), b(2 * 3 * plane);
    together.render(z.data(), 2, 400, a.data(), nullptr, 1);
    apart.render(z.data(), 2, 400, b.data(), nullptr, 1);
    double worst = 0.0, total = 0.0;
    for (size_t v = 0; v < 2; v++) {
        for (size_t k = 0; k < 2; k++) {
            for (size_t p = 0; p < plane; p++) {
                const double x = a[(v * 2 + k) * plane + p];
                const double y = b[(v * 3 + k) * plane + p];
                worst = std::max(worst, std::fabs(x - y) / std::max(y, 1e-30));
                total += x;
            }
        }
    }
    BOOST_CHECK_LT(worst, 1e-6);
    BOOST_CHECK_GT(total, 100.0);
}

BOOST_AUTO_TEST_CASE(decay_fft_samples_at_the_edge_use_the_same_fit)
{
    // Samples anchored near or past the edge (where the circular convolution would
    // wrap) add the fitted far field in the image domain: each one alone agrees with the
    // direct sum within the fit bound, and its window is cut at the image edge.
    render_config c;
    c.normalise = false;
    constellation_renderer fft(c);
    c.method = render_config::render_method::direct;
    constellation_renderer direct(c);
    const double pixel = 5.0 / 224;
    const std::vector<gr_complex> z = {
        { float(-2.5 + 3.3 * pixel), float(2.5 - 2.6 * pixel) },     // top left corner
        { float(-2.5 + 220.4 * pixel), float(2.5 - 110.2 * pixel) }, // right edge
        { float(-2.5 - 20.3 * pixel), float(2.5 - 200.7 * pixel) },  // 20 px left, out
        { float(-2.5 + 100.5 * pixel), float(2.5 - 243.6 * pixel) }, // 20 px below, out
    };
    const size_t plane = 224 * 224;
    for (const auto& s : z) {
        std::vector<float> a(fft.image_size()), b(a.size());
        fft.render(&s, 1, 1, a.data(), nullptr, 1);
        direct.render(&s, 1, 1, b.data(), nullptr, 1);
        for (size_t k = 1; k < 3; k++) { // the FFT channels
            double diff = 0.0, total = 0.0;
            for (size_t p = k * plane; p < (k + 1) * plane; p++) {
                diff = std::max(diff, std::fabs(double(a[p]) - b[p]));
                total += b[p];
                if (b[p] == 0.0f) {
                    BOOST_REQUIRE_EQUAL(a[p], 0.0f); // outside the window
                }
            }
            BOOST_CHECK_GT(total, 1.0);
            BOOST_CHECK_LT(diff, fft.max_fit_error() + 1e-5);
        }
    }
}

BOOST_AUTO_TEST_CASE(normalised_channels_peak_at_one_and_threads_agree)
{
    render_config c;
    c.rms_scale = true;
    constellation_renderer r(c);
    const auto z = noise(3 * 300, 4.0f, 3); // "auto" extent pulls these into view
    std::vector<float> one(3 * r.image_size()), two(one.size());
    r.render(z.data(), 3, 300, one.data(), nullptr, 1);
    r.render(z.data(), 3, 300, two.data(), nullptr, 2);
    BOOST_CHECK(one == two);
    for (size_t start = 0; start < one.size(); start += 224 * 224) {
        BOOST_CHECK_EQUAL(
            *std::max_element(one.begin() + start, one.begin() + start + 224 * 224),
            1.0f);
    }
}

BOOST_AUTO_TEST_CASE(bad_settings_are_rejected)
{
    render_config c;
    c.windows = { 5, 25 };
    BOOST_CHECK_THROW(constellation_renderer{ c }, std::invalid_argument);
    c = render_config();
    c.extent = -1.0;
    BOOST_CHECK_THROW(constellation_renderer{ c }, std::invalid_argument);
    BOOST_CHECK_THROW(render_config::parse_mode("scatter"), std::invalid_argument);
    BOOST_CHECK_THROW(gr::rfml::constellation::make(0), std::invalid_argument);
    // 2 * b + 1 overflowed int in the FFT eligibility test: a crash, not an error
    c = render_config();
    c.rates = { 1.0 };
    c.windows = { std::numeric_limits<int>::max() };
    BOOST_CHECK_THROW(constellation_renderer{ c }, std::invalid_argument);
    c.windows = { render_config::max_window };
    BOOST_CHECK_NO_THROW(constellation_renderer{ c });
    c.height = render_config::max_size + 1;
    BOOST_CHECK_THROW(constellation_renderer{ c }, std::invalid_argument);
    c = render_config();
    c.rates = { 1.0, 0.2, std::numeric_limits<double>::infinity() };
    BOOST_CHECK_THROW(constellation_renderer{ c }, std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(more_threads_than_cores_give_the_same_images)
{
    const auto c = histogram(16, 2.5);
    constellation_renderer r(c);
    const auto z = noise(200 * 16, 1.0f, 4);
    std::vector<float> one(200 * r.image_size()), many(one.size());
    r.render(z.data(), 200, 16, one.data(), nullptr, 1);
    r.render(z.data(), 200, 16, many.data(), nullptr, 1000);
    BOOST_CHECK(one == many);
}

BOOST_AUTO_TEST_CASE(block_output_item_holds_one_image)
{
    auto blk = gr::rfml::constellation::make(128, "decay", 64, 32);
    BOOST_CHECK_EQUAL(blk->channels(), 3);
    BOOST_CHECK_EQUAL(blk->output_signature()->sizeof_stream_item(0),
                      3 * 64 * 32 * sizeof(float));
    BOOST_CHECK_EQUAL(blk->input_signature()->sizeof_stream_item(0),
                      128 * sizeof(gr_complex));
}
