"""Domain events (outbox): what happened to an account, for webhooks and notifications to deliver."""
