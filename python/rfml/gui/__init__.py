# SPDX-License-Identifier: GPL-3.0-or-later
"""Qt widgets and displays of gr-rfml (not blocks): the CAM painter and the realtime
classification display."""
