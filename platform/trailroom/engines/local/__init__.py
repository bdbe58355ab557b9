"""The embedded CPU try-on engine (`local`): pose models vendored in `models/`, classical garment
cut-out and warping. See `engine.py` for the pipeline."""

from trailroom.engines.local.engine import LocalEngine

__all__ = ["LocalEngine"]
