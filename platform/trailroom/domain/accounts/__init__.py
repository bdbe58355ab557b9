"""Accounts: users, password and Google sign-in, sessions (JWT + rotating refresh tokens), API keys."""
