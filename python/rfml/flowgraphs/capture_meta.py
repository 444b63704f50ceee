# SPDX-License-Identifier: GPL-3.0-or-later
"""The SigMF metadata of a one-class loopback capture made by a flowgraph (the example
``bladerf_loopback_capture.grc`` calls ``write_capture_meta`` once its flowgraph stopped).

The recording's ``.sigmf-data`` is written by a file sink (cf32_le); this adds the
``.sigmf-meta`` beside it with one annotation over the whole recording: the class and the
SNR, in the keys ``rfml capture`` uses (docs/sigmf.md), so ``ml.datasets.read_dataset``
reads it back as labelled vectors.
"""

from datetime import UTC, datetime

from .. import __version__
from ..ml import sigmf
from ..ml.contract import CLASSES, class_index


def write_capture_meta(
    out, *, source, loopback, snr_db, sample_rate, vector_length, center_freq=None
):
    """Writes ``out``'s ``.sigmf-meta`` for the samples already in its ``.sigmf-data``.

    Args:
        out (str | Path): the recording (base name, or either SigMF file).
        source (mod_source): the flowgraph's source (its ``modulation`` is the class).
        loopback (loopback): the flowgraph's loopback (its ``radio``, and with a BladeRF its
            ``loopback_mode``).
        snr_db (float): the SNR of every vector.
        sample_rate (float): Hz.
        vector_length (int): samples per vector over which the SNR holds.
        center_freq (float or None): the BladeRF's centre frequency, Hz (``core:frequency``).

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
    capture = {
        "core:sample_start": 0,
        "core:datetime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    if radio != "sim" and center_freq is not None:
        capture["core:frequency"] = float(center_freq)
    annotation = {
        "core:sample_start": 0,
        "core:sample_count": n - n % int(vector_length),
        "core:label": name,
        "core:comment": f"{name} at {float(snr_db):g} dB SNR",
        "signal:detail": sigmf.SIGNAL_DETAIL[name],
        sigmf.key("class_index"): CLASSES.index(name),
        sigmf.key("snr_db"): float(snr_db),
    }
    meta = sigmf.meta_path(out)
    sigmf.write_meta(
        meta, data, datatype="cf32_le", sample_rate=sample_rate, annotations=[annotation],
        captures=[capture],
        global_fields={
            "core:description": f"gr-rfml loopback capture ({radio_name}), one class",
            "core:recorder": f"gr-rfml {__version__} (bladerf_loopback_capture.grc)",
            "core:hw": "simulated RF loopback" if radio == "sim" else "Nuand bladeRF",
            sigmf.key("classes"): list(CLASSES),
            sigmf.key("vector_length"): int(vector_length),
            sigmf.key("radio"): radio_name,
        },
    )  # fmt: skip
    return meta
