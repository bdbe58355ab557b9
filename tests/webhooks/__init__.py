"""Webhooks: endpoints, fan-out, signed in-order delivery, retries, SSRF, HTTP API."""
