"""Array aliases shared by the local engine's modules."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

ImageArray = npt.NDArray[np.uint8]  # (h, w, 3) RGB
FloatArray = npt.NDArray[np.floating[Any]]
BoolArray = npt.NDArray[np.bool_]
AnyArray = npt.NDArray[Any]  # OpenCV results whose element type varies
