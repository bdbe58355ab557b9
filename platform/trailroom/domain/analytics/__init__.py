"""Usage analytics: every API call made with a key or a user token, counted per hour, queried by period."""
