# SPDX-License-Identifier: GPL-3.0-or-later
"""Training data from data set files: concatenation, the validation split, per-process
shards, and the description of the data that goes into a card.

``load_data`` reads whole files (one process); ``load_split`` reads only what this process
trains on (its shard of the training part) and, on rank 0, the validation part.
"""

from pathlib import Path

import h5py
import numpy as np

from .datasets import read_dataset

# Seed offset of the validation split, so it never coincides with other seeded draws.
SPLIT_SEED = 7919


def jsonable(value):
    """numpy scalars/arrays, tuples and bytes -> plain JSON types (recursively)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value


def _paths(paths):
    return [paths] if isinstance(paths, str | Path) else list(paths)


def data_description(paths, ds):
    """What a card says about a data set: file name(s), size, SNR range, attributes."""
    return {
        "file": ", ".join(Path(p).name for p in _paths(paths)),
        "format": ds.format,
        "vectors": int(len(ds)),
        "vector_length": int(ds.vector_length),
        "snr_db": [float(np.min(ds.snr_db)), float(np.max(ds.snr_db))] if len(ds) else None,
        "attrs": jsonable(ds.attrs),
    }


def _check_parts(paths, parts):
    for p, ds in zip(paths, parts, strict=True):
        if len(ds) == 0:
            raise ValueError(f"{p} holds no vectors: generate a data set with `rfml generate`")
        if tuple(ds.classes) != tuple(parts[0].classes):
            raise ValueError(
                f"{p} names classes {list(ds.classes)} but {paths[0]} names "
                f"{list(parts[0].classes)}: combine files of the same classes"
            )
        if ds.vector_length != parts[0].vector_length:
            raise ValueError(
                f"{p} has vectors of {ds.vector_length} samples, {paths[0]} of "
                f"{parts[0].vector_length}: combine files of one vector length"
            )


def _concatenate(paths, parts):
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    first.iq = np.concatenate([d.iq for d in parts])
    first.label = np.concatenate([d.label for d in parts])
    first.snr_db = np.concatenate([d.snr_db for d in parts])
    first.clean = (
        None if any(d.clean is None for d in parts) else np.concatenate([d.clean for d in parts])
    )
    first.params = {}
    first.attrs = {
        "files": [
            {"file": Path(p).name, "vectors": len(d), "attrs": d.attrs}
            for p, d in zip(paths, parts, strict=True)
        ]
    }
    return first


def load_data(paths, max_vectors=None, clean=False):
    """Read one data set file, or several (concatenated; they must name the same classes and
    have one vector length); ``max_vectors`` keeps the first N of each file."""
    paths = _paths(paths)
    sel = slice(0, max_vectors) if max_vectors else None
    parts = [read_dataset(p, select=sel, clean=clean) for p in paths]
    _check_parts(paths, parts)
    return _concatenate(paths, parts)


def count_vectors(path):
    """Number of vectors in a data set file (read from the HDF5 header when it is one)."""
    path = Path(path)
    if path.is_file() and h5py.is_hdf5(path):
        with h5py.File(path, "r") as f:
            for key in ("label", "Z"):
                if key in f:
                    return len(f[key])
    return len(read_dataset(path, clean=False))


def split_indices(n, fraction, seed):
    """(train, val) sorted index arrays of n vectors; the validation share drawn at random."""
    order = np.random.default_rng(seed + SPLIT_SEED).permutation(n)
    n_val = int(round(fraction * n)) if fraction > 0 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def load_split(paths, *, needs, val_fraction, seed, dist, max_vectors=None):
    """This process's training data and (rank 0) the validation data, by batch field.

    Every file is split alike in every process (seeded); the training part is dealt out
    to the ``dist.world`` processes round-robin, each reading only its own vectors.

    Returns:
        (train dict[str, ndarray], val dict or None, info) where ``info`` has ``classes``,
        ``vector_length``, ``description`` (for the card), ``train_vectors`` and
        ``val_vectors`` (totals over all processes).
    """
    paths = _paths(paths)
    clean = "clean" in needs
    train_parts, val_parts, n_train, n_val = [], [], 0, 0
    for path in paths:
        n = count_vectors(path)
        if max_vectors:
            n = min(n, int(max_vectors))
        tr, va = split_indices(n, val_fraction, seed)
        per = len(tr) // dist.world
        mine = np.sort(tr[dist.rank :: dist.world][:per]) if dist.world > 1 else tr
        if dist.world == 1:
            whole = read_dataset(path, select=slice(0, n), clean=clean)
            train_parts.append(whole.subset(mine))
            val_parts.append(whole.subset(va))
        else:
            train_parts.append(read_dataset(path, select=mine, clean=clean))
            if dist.main and len(va):
                val_parts.append(read_dataset(path, select=va, clean=clean))
        n_train += per * dist.world if dist.world > 1 else len(tr)
        n_val += len(va)
    _check_parts(paths, train_parts)
    if clean and any(p.clean is None for p in train_parts):
        raise ValueError(
            f"{', '.join(map(str, paths))}: this stage needs the clean vectors, which only "
            "gr-rfml files made by `rfml generate` hold"
        )
    first = train_parts[0]
    info = {
        "classes": [str(c) for c in first.classes],
        "vector_length": int(first.vector_length),
        "description": _parts_description(paths, train_parts, val_parts),
        "train_vectors": int(n_train),
        "val_vectors": int(n_val),
    }
    train = _fields(train_parts, needs)
    val = _fields(val_parts, needs) if val_parts and n_val else None
    return train, val, info


def _parts_description(paths, *groups):
    """data_description of the vectors in several lists of Datasets, without copying them."""
    parts = [p for group in groups for p in group]
    snr = [float(f(p.snr_db)) for p in parts if len(p) for f in (np.min, np.max)]
    attrs = parts[0].attrs if len(paths) == 1 else {
        "files": [{"file": Path(p).name} for p in paths]
    }  # fmt: skip
    return {
        "file": ", ".join(Path(p).name for p in paths),
        "format": parts[0].format,
        "vectors": int(sum(len(p) for p in parts)),
        "vector_length": int(parts[0].vector_length),
        "snr_db": [min(snr), max(snr)] if snr else None,
        "attrs": jsonable(attrs),
    }


def _fields(parts, needs):
    out = {}
    for key in needs:
        arrays = [getattr(p, key) for p in parts]
        out[key] = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
    if "label" in out:
        out["label"] = out["label"].astype(np.int64)
    return out
