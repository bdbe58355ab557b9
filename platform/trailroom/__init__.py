"""TrailRoom: self-hostable, API-first virtual try-on."""

__version__ = "0.1.0"
