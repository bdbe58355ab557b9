"""Body pose and person outline from the vendored BlazePose models, run with LiteRT.

Two models, the same two steps MediaPipe's pose solution takes:
1. `pose_detection.tflite` (224x224, SSD anchors) finds people: a box and four keypoints each,
   of which the hip centre and a "scale" point give a rotated square region around the body.
2. `pose_landmark_full.tflite` (256x256 crop of that region) gives 33 body landmarks (plus 6
   auxiliary ones), their visibility, a "is there a pose" score and a person segmentation mask.

Everything is returned in the pixel coordinates of the image that was passed in.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from trailroom.engines.local.types import FloatArray, ImageArray

MODELS = Path(__file__).resolve().parent / "models"
DETECTOR_MODEL = MODELS / "pose_detection.tflite"
LANDMARK_MODEL = MODELS / "pose_landmark_full.tflite"

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
DETECTION_SCORE = 0.5
NMS_IOU = 0.3

# Landmark indices (BlazePose topology). "Left" is the person's left: on the image's right side
# when they face the camera.
NOSE = 0
LEFT_EYE, RIGHT_EYE = 2, 5
LEFT_EAR, RIGHT_EAR = 7, 8
MOUTH_LEFT, MOUTH_RIGHT = 9, 10
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_ELBOW, RIGHT_ELBOW = 13, 14
LEFT_WRIST, RIGHT_WRIST = 15, 16
LEFT_PINKY, RIGHT_PINKY = 17, 18
LEFT_INDEX, RIGHT_INDEX = 19, 20
LEFT_HIP, RIGHT_HIP = 23, 24
LEFT_KNEE, RIGHT_KNEE = 25, 26
LEFT_ANKLE, RIGHT_ANKLE = 27, 28
LEFT_HEEL, RIGHT_HEEL = 29, 30
LEFT_FOOT, RIGHT_FOOT = 31, 32
AUX_HIP_CENTRE, AUX_SCALE = 33, 34


@dataclass(frozen=True)
class Detection:
    """One person found by the detector, in image pixels."""

    score: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    keypoints: FloatArray  # (4, 2): hip centre, full-body scale point, shoulder centre, upper-body scale point


@dataclass(frozen=True)
class Pose:
    """Landmarks of one person, in image pixels."""

    points: FloatArray  # (39, 2) x, y
    visibility: FloatArray  # (39,) 0..1: the point is in view and not hidden
    presence: FloatArray  # (39,) 0..1: the point is inside the image
    score: float  # 0..1: the crop holds a pose at all
    mask: FloatArray  # (h, w) 0..1 person segmentation at image size
    rotation: float  # radians the body is turned in the image plane (0 = upright)

    def xy(self, index: int) -> FloatArray:
        point: FloatArray = self.points[index]
        return point

    def shoulder_width(self) -> float:
        return float(np.linalg.norm(self.points[LEFT_SHOULDER] - self.points[RIGHT_SHOULDER]))


@dataclass(frozen=True)
class _Roi:
    centre: tuple[float, float]
    size: float
    rotation: float

    def crop_to_image(self) -> FloatArray:
        """Affine matrix (2x3) from crop pixels (0..LANDMARK_SIZE) to image pixels."""
        scale = self.size / LANDMARK_SIZE
        cos, sin = math.cos(self.rotation) * scale, math.sin(self.rotation) * scale
        half = LANDMARK_SIZE / 2
        cx, cy = self.centre
        return np.array(
            [[cos, -sin, cx - cos * half + sin * half], [sin, cos, cy - sin * half - cos * half]],
            dtype=np.float64,
        )


@cache
def _anchors() -> FloatArray:
    """Anchor centres of the detector's SSD head (fixed size, so only centres matter).

    Strides 8 and 16 have two anchors per cell; the three stride-32 layers share one 7x7 grid with
    two anchors each, which is how the 2254 outputs are laid out.
    """
    centres: list[tuple[float, float]] = []
    for stride, per_cell in ((8, 2), (16, 2), (32, 6)):
        cells = math.ceil(DETECTOR_SIZE / stride)
        for y in range(cells):
            for x in range(cells):
                centres.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell)
    return np.array(centres, dtype=np.float32)


class _Model:
    """One LiteRT interpreter. LiteRT interpreters are not thread safe, so calls are serialised."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(f"model file missing from the trailroom package: {path}")
        self._interpreter = Interpreter(model_path=str(path), num_threads=1)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._outputs = [detail["index"] for detail in self._interpreter.get_output_details()]
        self._lock = threading.Lock()

    def __call__(self, tensor: FloatArray) -> list[FloatArray]:
        with self._lock:
            self._interpreter.set_tensor(self._input, tensor[np.newaxis].astype(np.float32))
            self._interpreter.invoke()
            return [np.array(self._interpreter.get_tensor(index)[0]) for index in self._outputs]


class PoseEstimator:
    """Finds people and the landmarks of one of them. Loads both models once per instance."""

    def __init__(self) -> None:
        self._detector = _Model(DETECTOR_MODEL)
        self._landmarker = _Model(LANDMARK_MODEL)

    def detect(self, image: ImageArray) -> list[Detection]:
        """Every person the detector sees (after non-maximum suppression), best first."""
        height, width = image.shape[:2]
        side = max(height, width)
        # Letterbox to a square, as the detector was trained, then scale to [-1, 1].
        pad_x, pad_y = (side - width) // 2, (side - height) // 2
        square = cv2.copyMakeBorder(
            image, pad_y, side - height - pad_y, pad_x, side - width - pad_x, cv2.BORDER_CONSTANT, value=(0, 0, 0)
        )
        tensor = cv2.resize(square, (DETECTOR_SIZE, DETECTOR_SIZE), interpolation=cv2.INTER_AREA)
        raw_boxes, raw_scores = self._detector(tensor.astype(np.float32) / 127.5 - 1.0)
        scores = _sigmoid(raw_scores[:, 0])
        keep = scores >= DETECTION_SCORE
        if not keep.any():
            return []
        anchors = _anchors()[keep]
        raw = raw_boxes[keep] / DETECTOR_SIZE
        centre = raw[:, 0:2] + anchors
        size = raw[:, 2:4]
        keypoints = raw[:, 4:12].reshape(-1, 4, 2) + anchors[:, np.newaxis, :]
        boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
        # Back from the letterboxed unit square to image pixels.
        offset = np.array([pad_x, pad_y], dtype=np.float32)
        boxes = boxes * side - np.tile(offset, 2)
        keypoints = keypoints * side - offset
        return _weighted_nms(scores[keep], boxes, keypoints)

    def landmarks(self, image: ImageArray, detection: Detection) -> Pose:
        """Landmarks and person mask for one detection, refined by a second pass on its own region."""
        roi = _roi_from_points(detection.keypoints[0], detection.keypoints[1])
        pose = self._landmarks_in(image, roi)
        # The detector's region is rough; a second pass on the region the landmarks themselves
        # define (as MediaPipe does from frame to frame) centres and scales the body better.
        refined = _roi_from_points(pose.points[AUX_HIP_CENTRE], pose.points[AUX_SCALE])
        return self._landmarks_in(image, refined)

    def _landmarks_in(self, image: ImageArray, roi: _Roi) -> Pose:
        height, width = image.shape[:2]
        to_image = roi.crop_to_image()
        to_crop = cv2.invertAffineTransform(to_image)
        crop = cv2.warpAffine(
            image, to_crop, (LANDMARK_SIZE, LANDMARK_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        raw_points, raw_flag, raw_mask, _heatmap, _world = self._landmarker(crop.astype(np.float32) / 255.0)
        values = raw_points.reshape(-1, 5)
        crop_xy = values[:, 0:2].astype(np.float64)
        points = crop_xy @ to_image[:, :2].T + to_image[:, 2]
        mask_crop = _sigmoid(raw_mask[:, :, 0])
        mask = np.asarray(
            cv2.warpAffine(
                mask_crop.astype(np.float32),
                to_image,
                (width, height),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0.0,
            ),
            dtype=np.float32,
        )
        return Pose(
            points=points.astype(np.float32),
            visibility=_sigmoid(values[:, 3]),
            presence=_sigmoid(values[:, 4]),
            score=float(raw_flag.reshape(-1)[0]),
            mask=mask,
            rotation=roi.rotation,
        )


def _sigmoid(values: FloatArray) -> FloatArray:
    # The tanh form does not overflow for large negative logits.
    result: FloatArray = (0.5 * (1.0 + np.tanh(0.5 * values))).astype(np.float32)
    return result


def _roi_from_points(hip: FloatArray, scale_point: FloatArray) -> _Roi:
    """The square crop MediaPipe derives from the hip centre and the scale point: centred on the
    hips, twice their distance across, enlarged by 1.25 and turned so the body stands upright."""
    dx, dy = float(scale_point[0] - hip[0]), float(scale_point[1] - hip[1])
    rotation = math.pi / 2 - math.atan2(-dy, dx)
    rotation = (rotation + math.pi) % (2 * math.pi) - math.pi
    size = 2.0 * math.hypot(dx, dy) * 1.25
    return _Roi(centre=(float(hip[0]), float(hip[1])), size=size, rotation=rotation)


def _iou(box: FloatArray, boxes: FloatArray) -> FloatArray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    result: FloatArray = inter / np.maximum(area + areas - inter, 1e-6)
    return result


def _weighted_nms(scores: FloatArray, boxes: FloatArray, keypoints: FloatArray) -> list[Detection]:
    """Groups overlapping detections and averages each group weighted by score (MediaPipe's
    "weighted" suppression), which is steadier than keeping only the best box."""
    order = np.argsort(-scores)
    remaining = order.tolist()
    detections: list[Detection] = []
    while remaining:
        best = remaining[0]
        overlaps = _iou(boxes[best], boxes[remaining])
        group = [remaining[i] for i in np.flatnonzero(overlaps > NMS_IOU)]
        weights = scores[group] / scores[group].sum()
        box = (boxes[group] * weights[:, np.newaxis]).sum(axis=0)
        points = (keypoints[group] * weights[:, np.newaxis, np.newaxis]).sum(axis=0)
        detections.append(
            Detection(
                score=float(scores[best]),
                box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
                keypoints=points.astype(np.float32),
            )
        )
        grouped = set(group)
        remaining = [index for index in remaining if index not in grouped]
    return detections
