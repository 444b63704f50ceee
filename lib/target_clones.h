/*
 * Copyright 2026 gr-rfml authors
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_RFML_TARGET_CLONES_H
#define INCLUDED_RFML_TARGET_CLONES_H

// Hot loops are compiled twice: for AVX2+FMA and for the baseline x86-64; the loader
// picks the one the CPU runs.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RFML_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define RFML_TARGET_CLONES
#endif

#endif /* INCLUDED_RFML_TARGET_CLONES_H */
