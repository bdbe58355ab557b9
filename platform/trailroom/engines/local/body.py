"""The person in the photo: is the photo usable, and where are the body parts a garment goes on.

Checks run in the order a shopper can act on them: no person, several people, too small, turned
away or rotated, body part out of frame. Geometry is expressed in a body frame (origin between the
shoulder joints, `across` towards the person's left shoulder, `down` towards the hips) so a slightly
tilted photo needs no special case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from trailroom.engines.base import (
    BODY_NOT_IN_FRAME,
    MULTIPLE_PEOPLE,
    PERSON_NOT_FACING_CAMERA,
    PERSON_NOT_FOUND,
    PERSON_TOO_SMALL,
    EngineError,
)
from trailroom.engines.local import pose as lm
from trailroom.engines.local.pose import Detection, Pose, PoseEstimator
from trailroom.engines.local.types import FloatArray, ImageArray

MAX_ROLL = math.radians(35)  # beyond this the photo is rotated (or the person is lying down)
MIN_SHOULDER_PIXELS = 48.0
MIN_SHOULDER_SHARE = 0.07  # shoulder width as a share of the photo's longer side
SECOND_PERSON_SIZE = 0.35  # a second detection this large (vs the first) is a second person
MIN_FRONTAL_RATIO = 0.45  # shoulder width / torso length below this is a side view
MIN_POSE_SCORE = 0.9  # people score ~1.0; a shirt laid flat can reach 0.8


TOO_SMALL = "The person is too small in the photo. Stand closer to the camera or crop the photo."


@dataclass(frozen=True)
class Body:
    pose: Pose
    origin: FloatArray  # between the shoulder joints
    across: FloatArray  # unit vector towards the person's left shoulder (image right when facing us)
    down: FloatArray  # unit vector from shoulders towards hips
    shoulder_width: float
    torso_length: float  # shoulders to hips along `down`
    mask: FloatArray  # (h, w) 0..1 person

    def to_body(self, points: FloatArray) -> FloatArray:
        """Image pixels (..., 2) to body-frame (u across, v down)."""
        offset = points - self.origin
        return np.stack([offset @ self.across, offset @ self.down], axis=-1)

    def to_image(self, uv: FloatArray) -> FloatArray:
        result: FloatArray = self.origin + uv[..., :1] * self.across + uv[..., 1:2] * self.down
        return result

    def point(self, index: int) -> FloatArray:
        point: FloatArray = self.pose.points[index].astype(np.float64)
        return point


def _size(detection: Detection) -> float:
    x0, y0, x1, y1 = detection.box
    return max(x1 - x0, y1 - y0)


def find_body(estimator: PoseEstimator, image: ImageArray, needs_legs: bool) -> Body:
    height, width = image.shape[:2]
    detections = estimator.detect(image)
    if not detections:
        if _someone_small(estimator, image):
            raise EngineError(PERSON_TOO_SMALL, TOO_SMALL)
        raise EngineError(
            PERSON_NOT_FOUND, "No person was found in the photo. Use a photo of yourself, facing the camera."
        )
    main = max(detections, key=_size)
    others = [d for d in detections if d is not main and _size(d) >= SECOND_PERSON_SIZE * _size(main)]
    if others:
        raise EngineError(MULTIPLE_PEOPLE, "More than one person is in the photo. Use a photo of you alone.")
    pose = estimator.landmarks(image, main)
    if pose.score < MIN_POSE_SCORE:
        raise EngineError(
            PERSON_NOT_FOUND, "No person was found in the photo. Use a photo of yourself, facing the camera."
        )
    if abs(pose.rotation) > MAX_ROLL:
        raise EngineError(
            PERSON_NOT_FACING_CAMERA,
            "The person in the photo is rotated or upside down. Use an upright photo, facing the camera.",
        )

    left_shoulder, right_shoulder = pose.points[lm.LEFT_SHOULDER], pose.points[lm.RIGHT_SHOULDER]
    shoulder_width = pose.shoulder_width()
    if shoulder_width < max(MIN_SHOULDER_PIXELS, MIN_SHOULDER_SHARE * max(height, width)):
        raise EngineError(PERSON_TOO_SMALL, TOO_SMALL)
    origin = (left_shoulder + right_shoulder).astype(np.float64) / 2
    across = (left_shoulder - right_shoulder).astype(np.float64) / max(shoulder_width, 1e-6)
    down = np.array([-across[1], across[0]])
    hips = (pose.points[lm.LEFT_HIP] + pose.points[lm.RIGHT_HIP]).astype(np.float64) / 2
    torso_length = float((hips - origin) @ down)

    # Facing the camera: the person's left shoulder on the image's right (a back view mirrors
    # this), the face visible, and shoulders broad for the torso (a side view is narrow).
    facing_away = across[0] <= 0 or pose.visibility[lm.NOSE] < 0.5
    side_on = torso_length > 0 and shoulder_width / torso_length < MIN_FRONTAL_RATIO
    if facing_away or side_on:
        raise EngineError(
            PERSON_NOT_FACING_CAMERA,
            "The person is not facing the camera. Use a photo taken from the front, shoulders square to the camera.",
        )
    if not (_inside(left_shoulder, width, height) and _inside(right_shoulder, width, height)):
        raise EngineError(BODY_NOT_IN_FRAME, "Both shoulders must be in the photo.")
    if needs_legs:
        for index in (lm.LEFT_HIP, lm.RIGHT_HIP, lm.LEFT_KNEE, lm.RIGHT_KNEE):
            if not _inside(pose.points[index], width, height) or pose.presence[index] < 0.5:
                raise EngineError(
                    BODY_NOT_IN_FRAME,
                    "This garment needs a photo that shows your hips and legs. Use a full-body photo.",
                )
    # The hips of a close-up (a selfie) are guessed by the model; keep the torso plausible.
    torso_length = float(np.clip(torso_length, 0.9 * shoulder_width, 2.2 * shoulder_width))
    return Body(
        pose=pose,
        origin=origin,
        across=across,
        down=down,
        shoulder_width=shoulder_width,
        torso_length=torso_length,
        mask=pose.mask,
    )


def _someone_small(estimator: PoseEstimator, image: ImageArray) -> bool:
    """Whether a person too small for the detector at full view shows up in a zoomed-in quarter.

    Only run once nothing was found, so a far-away shopper hears "too small", not "no person".
    """
    height, width = image.shape[:2]
    half_h, half_w = height // 2, width // 2
    for top in (0, height // 4, height - half_h):
        for left in (0, width // 4, width - half_w):
            crop = image[top : top + half_h, left : left + half_w]
            for detection in estimator.detect(crop):
                if detection.score >= 0.8 and estimator.landmarks(crop, detection).score >= MIN_POSE_SCORE:
                    return True
    return False


def _inside(point: FloatArray, width: int, height: int) -> bool:
    return bool(0 <= point[0] < width and 0 <= point[1] < height)
