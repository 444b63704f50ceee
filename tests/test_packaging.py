# SPDX-License-Identifier: GPL-3.0-or-later
"""The installed module as an out-of-tree module's users meet it: a downstream CMake project
finds it with find_package(gnuradio-rfml), builds against it and runs; the examples and the
CGRAN manifest are where GNU Radio's tools look for them."""

import shutil
import subprocess
from pathlib import Path

import gnuradio.rfml
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGE = Path(gnuradio.rfml.__file__).resolve().parent

DOWNSTREAM_CMAKE = """
cmake_minimum_required(VERSION 3.16)
project(rfml_downstream CXX)
find_package(gnuradio-rfml 0.1 REQUIRED)
add_executable(downstream main.cc)
target_link_libraries(downstream gnuradio::gnuradio-rfml)
"""

# A histogram image of four samples (one per quadrant) and a constellation block: the C++
# API and the GNU Radio runtime it links to.
DOWNSTREAM_MAIN = r"""
#include <gnuradio/rfml/constellation.h>
#include <gnuradio/rfml/constellation_renderer.h>
#include <cstdio>
#include <vector>

int main()
{
    gr::rfml::render_config config;
    config.mode = gr::rfml::render_config::render_mode::histogram;
    config.height = config.width = 4;
    config.extent = 2.0;
    gr::rfml::constellation_renderer renderer(config);
    std::vector<gr_complex> iq{ { 1, 1 }, { -1, 1 }, { -1, -1 }, { 1, -1 } };
    std::vector<float> image(renderer.image_size());
    int64_t invalid = 0;
    renderer.render(iq.data(), 1, iq.size(), image.data(), &invalid, 1);
    int lit = 0;
    for (float v : image)
        lit += v > 0;
    auto block = gr::rfml::constellation::make(4, "histogram", 4, 4, 2.0);
    std::printf("pixels=%zu lit=%d invalid=%lld block=%s\n", image.size(), lit,
                static_cast<long long>(invalid), block->name().c_str());
    return 0;
}
"""


def install_prefix():
    """The prefix the package in use was installed into (it holds lib/cmake/gnuradio-rfml)."""
    for parent in PACKAGE.parents:
        if (parent / "lib" / "cmake" / "gnuradio-rfml" / "gnuradio-rfmlConfig.cmake").is_file():
            return parent
    pytest.fail(f"no installed gnuradio-rfmlConfig.cmake above {PACKAGE}: run ./run.sh setup")


def test_downstream_cmake_project_builds_and_runs(tmp_path):
    if shutil.which("cmake") is None:
        pytest.fail("cmake not found: apt-get install cmake (./run.sh setup does)")
    src, build = tmp_path / "src", tmp_path / "build"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(DOWNSTREAM_CMAKE)
    (src / "main.cc").write_text(DOWNSTREAM_MAIN)
    configure = subprocess.run(
        ["cmake", "-S", src, "-B", build, f"-DCMAKE_PREFIX_PATH={install_prefix()}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert configure.returncode == 0, configure.stdout + configure.stderr
    compiled = subprocess.run(["cmake", "--build", build], capture_output=True, text=True,
                              timeout=300)  # fmt: skip
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    run = subprocess.run([build / "downstream"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "pixels=16 lit=4 invalid=0 block=constellation"


def test_examples_installed_beside_the_module():
    installed = install_prefix() / "share" / "gr-rfml" / "examples"
    assert sorted(p.name for p in installed.glob("*.grc")) == sorted(
        p.name for p in (REPO / "examples").glob("*.grc")
    )


def test_manifest_has_the_cgran_fields():
    head, _, body = (REPO / "MANIFEST.md").read_text().partition("\n---\n")
    fields = yaml.safe_load(head)
    for key in ("title", "brief", "tags", "author", "copyright_owner", "license",
                "gr_supported_version"):  # fmt: skip
        assert fields.get(key), f"MANIFEST.md lacks {key}"
    assert fields["title"] == "gr-rfml" and "3.10" in fields["gr_supported_version"]
    assert fields["license"] == "GPL-3.0-or-later"
    assert all(isinstance(t, str) for t in fields["tags"])
    assert len(body.split()) > 50  # a description, not a stub
