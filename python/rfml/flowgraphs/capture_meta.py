# SPDX-License-Identifier: GPL-3.0-or-later
"""The SigMF metadata of a one-class loopback capture made by a flowgraph (the example
``bladerf_loopback_capture.grc`` calls ``write_capture_meta`` once its flowgraph stopped).

The recording's ``.sigmf-data`` is written by a file sink (cf32_le); this adds the
``.sigmf-meta`` beside it with one annotation over the whole recording: the class and the
SNR, in the keys ``rfml capture`` uses, so ``ml.datasets.read_dataset`` reads it back as
labelled vectors.
"""

from .. import __version__
from ..ml import sigmf
from ..ml.contract import CLASSES, class_index


def write_capture_meta(out, *, source, loopback, snr_db, sample_rate, vector_length):
    """Writes ``out``'s ``.sigmf-meta`` for the samples already in its ``.sigmf-data``.

    Args:
        out (str | Path): the recording (base name, or either SigMF file).
        source (mod_source): the flowgraph's source (its ``modulation`` is the class).
        loopback (loopback): the flowgraph's loopback (its ``radio``, and with a BladeRF its
            ``loopback_mode``).
        snr_db (float): the SNR of every vector.
        sample_rate (float): Hz.
        vector_length (int): samples per vector over which the SNR holds.

    Returns:
        Path of the ``.sigmf-meta`` file.
    """
    data = sigmf.data_path(out)
    if not data.is_file() or data.stat().st_size == 0:
        raise RuntimeError(
            f"{data} is missing or empty: the flowgraph wrote no samples, so there is "
            "nothing to describe; check its log for the first error"
        )
    n = data.stat().st_size // 8  # cf32_le
    name = CLASSES[class_index(source.modulation)]
    radio = loopback.radio
    radio_name = "sim" if radio == "sim" else f"bladerf:{loopback.loopback_mode}"
    annotation = {
        "core:sample_start": 0,
        "core:sample_count": n - n % int(vector_length),
        "core:label": name,
        "core:description": f"{name} at {float(snr_db):g} dB SNR",
        "rfml:class_index": CLASSES.index(name),
        "rfml:snr_db": float(snr_db),
    }
    return sigmf.write_meta(
        out, sample_rate, [annotation],
        **{
            "core:description": f"gr-rfml loopback capture ({radio_name}), one class",
            "core:recorder": f"gr-rfml {__version__} (bladerf_loopback_capture.grc)",
            "core:hw": "simulated RF loopback" if radio == "sim" else "Nuand bladeRF",
            "rfml:classes": list(CLASSES),
            "rfml:vector_length": int(vector_length),
            "rfml:radio": radio_name,
        },
    )  # fmt: skip
