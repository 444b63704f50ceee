#!/usr/bin/env bash
# Copyright 2026 gr-rfml authors
# SPDX-License-Identifier: GPL-3.0-or-later
#
# One entry point that sets everything up on a fresh Debian 12 machine and then runs:
#   ./run.sh demo        the main job (see README)
#   ./run.sh test        the default test suite: ctest (C++ and every python/rfml/qa_*.py) and
#                        pytest -m "not slow" tests/; with arguments: ctest -L cpp and pytest ARGS
#   ./run.sh test-slow   the heavy tests (marker "slow")
#   ./run.sh setup       only the set-up
# Every step is skipped when its inputs have not changed, so a second run is quick.
# RFML_BUILD, RFML_PREFIX and RFML_VENV choose the build, install and venv folders
# (defaults: build/, .prefix/, .venv/).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${RFML_VENV:-$ROOT/.venv}"
BUILD="${RFML_BUILD:-$ROOT/build}"
PREFIX="${RFML_PREFIX:-$ROOT/.prefix}"
STAMPS="$VENV/.rfml-stamps"
DEBIAN_PACKAGES=(gnuradio gnuradio-dev pybind11-dev cmake g++ make python3-venv python3-dev
    python3-pyqt5 python3-matplotlib python3-scipy soapysdr0.8-module-bladerf
    libboost-test-dev
    gir1.2-gtk-3.0 # GNU Radio Companion's GTK 3 (Debian's gnuradio does not pull it in)
    xvfb xauth)    # a virtual display for the GRC and display tests

log() { printf '[run.sh] %s\n' "$*" >&2; }

install_debian_packages() {
    local missing=()
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return
    if [ "$(id -u)" -ne 0 ]; then
        log "missing Debian packages: ${missing[*]}; run as root or install them with apt-get"
        exit 1
    fi
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# True (and records the new hash) when the files named after the stamp changed.
changed() {
    local stamp="$STAMPS/$1"
    shift
    local sum
    sum="$(cat "$@" | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
        return 1
    fi
    echo "$sum" >"$stamp.new"
    return 0
}
commit_stamp() { mv "$STAMPS/$1.new" "$STAMPS/$1"; }

setup_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV (Debian python3 with system site packages, for GNU Radio)"
        /usr/bin/python3 -m venv --system-site-packages "$VENV"
    fi
    mkdir -p "$STAMPS"
    if changed pip "$ROOT/requirements.txt" "$ROOT/constraints.txt"; then
        log "installing Python packages (requirements.txt, constraints.txt)"
        # (pip's notes about this machine's optional local indexes are noise; errors still show)
        "$VENV/bin/pip" install -q -c "$ROOT/constraints.txt" -r "$ROOT/requirements.txt" \
            2> >(grep -v "^WARNING: Location 'file:" >&2)
        commit_stamp pip
    fi
}

build_module() {
    # The module installs for Debian's python3; ctest runs the Python QA with the venv's
    # python (RFML_QA_PYTHON), which has torch.
    if ! grep -qxF "RFML_QA_PYTHON:FILEPATH=$VENV/bin/python" "$BUILD/CMakeCache.txt" 2>/dev/null; then
        log "configuring CMake in $BUILD (install prefix $PREFIX)"
        mkdir -p "$BUILD"
        cmake -S "$ROOT" -B "$BUILD" -DCMAKE_INSTALL_PREFIX="$PREFIX" \
            -DCMAKE_INSTALL_RPATH="$PREFIX/lib" -DPYTHON_EXECUTABLE=/usr/bin/python3 \
            -DRFML_QA_PYTHON="$VENV/bin/python" \
            >"$BUILD/configure.log" 2>&1 || { cat "$BUILD/configure.log" >&2; rm -f "$BUILD/CMakeCache.txt"; exit 1; }
    fi
    cmake --build "$BUILD" -j"$(nproc)" -- --no-print-directory >/dev/null
    local pydir=""
    # A file moved or removed in the source must not linger in the installed package.
    if [ -d "$PREFIX/lib" ]; then
        pydir="$(find "$PREFIX/lib" -maxdepth 3 -type d \( -name site-packages -o -name dist-packages \) | head -n1)"
    fi
    [ -n "$pydir" ] && rm -rf "$pydir/gnuradio/rfml"
    rm -f "$PREFIX/share/gnuradio/grc/blocks/"rfml_*.block.yml
    cmake --install "$BUILD" >/dev/null
    # cmake gives installed files their sources' times, and GRC's block cache trusts an entry
    # made after a file's time: a changed definition would not be read again.
    find "$PREFIX/share/gnuradio/grc/blocks" -name 'rfml_*.block.yml' -exec touch {} + 2>/dev/null || true
    pydir="$(find "$PREFIX/lib" -maxdepth 3 -type d \( -name site-packages -o -name dist-packages \) | head -n1)"
    export PYTHONPATH="$pydir${PYTHONPATH:+:$PYTHONPATH}"
    export GRC_BLOCKS_PATH="$PREFIX/share/gnuradio/grc/blocks"
    if [ "$PREFIX" = "$ROOT/.prefix" ] && [ "$VENV" = "$ROOT/.venv" ]; then
        # Make the default install visible to .venv/bin/python and .venv/bin/rfml.
        local site
        site="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
        echo "$pydir" >"$site/gr-rfml.pth"
        cat >"$VENV/bin/rfml" <<EOF
#!/bin/sh
exec "$VENV/bin/python" -m gnuradio.rfml.apps "\$@"
EOF
        chmod +x "$VENV/bin/rfml"
    fi
}

setup() {
    install_debian_packages
    setup_venv
    build_module
    export PATH="$VENV/bin:$PATH"
}

run_pytest() {
    cd "$ROOT"
    set +e
    "$VENV/bin/python" -m pytest "$@"
    local rc=$?
    set -e
    return $rc
}

main() {
    local cmd="${1:-help}"
    [ $# -gt 0 ] && shift
    case "$cmd" in
        setup) setup ;;
        demo)
            setup
            "$VENV/bin/python" -m gnuradio.rfml.apps demo "$@"
            ;;
        test)
            setup
            if [ $# -eq 0 ]; then
                # every QA file once (ctest, with the venv's python), then the suites in tests/
                (cd "$BUILD" && ctest --output-on-failure)
                run_pytest -m "not slow" tests
            else
                (cd "$BUILD" && ctest --output-on-failure -L cpp)
                run_pytest -m "not slow" "$@"
            fi
            ;;
        test-slow)
            setup
            run_pytest -m slow "$@"
            ;;
        *)
            sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//'
            [ "$cmd" = help ] || exit 2
            ;;
    esac
}

main "$@"
