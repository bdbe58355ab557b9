"""Billing: what credits cost (pricing). Orders, payments and invoices come later."""
