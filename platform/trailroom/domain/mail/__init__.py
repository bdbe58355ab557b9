"""Outgoing mail: rendered from Jinja templates, stored, sent over SMTP by a SAQ job (or kept in the dev outbox)."""
