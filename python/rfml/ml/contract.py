# SPDX-License-Identifier: GPL-3.0-or-later
"""The data contracts of gr-rfml (DESIGN.md, "Data contracts"), in one place for code.

Tensors are float32 ``(B, 2, L)``: row 0 = I, row 1 = Q.
"""

# Canonical class order; index = label. More classes may be appended, never reordered.
CLASSES = ("OOK", "GFSK", "GMSK", "DBPSK", "DQPSK", "OFDM")

# Label given to a vector that cannot be classified (NaN/Inf samples, zero power).
INVALID_LABEL = "invalid"

DEFAULT_VECTOR_LENGTH = 1024
DEFAULT_SAMPLES_PER_SYMBOL = 10
DEFAULT_SAMPLE_RATE = 1e6  # Hz; sets the time axis of plots and SigMF metadata only

# Stream tag put on the first sample of each classified vector.
LABEL_TAG_KEY = "rfml_label"
# Stream tags of the truth: the class name (mod_source, a symbol, on its first sample) and
# the target SNR in dB (awgn_snr, a double, on its first sample and wherever it changes).
CLASS_TAG_KEY = "rfml_class"
SNR_TAG_KEY = "rfml_snr_db"

# Put in a batch queue (vector_to_tensor -> ml.stream.QueueDataset) after the last batch.
END_OF_STREAM = None


def class_index(name):
    """Index of a class name in CLASSES (case-insensitive); ValueError names the choices."""
    for i, c in enumerate(CLASSES):
        if c.lower() == str(name).lower():
            return i
    raise ValueError(f"unknown class {name!r}: choose one of {', '.join(CLASSES)}")
