"""Webhooks: endpoints accounts register, signed deliveries of outbox events, retries and health."""
