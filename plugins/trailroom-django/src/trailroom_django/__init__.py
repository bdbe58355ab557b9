"""TrailRoom virtual try-on for Django: the widget template tag, an upload proxy that holds the
secret key, and a webhook view that verifies signatures and sends Django signals."""

__version__ = "0.1.0"
