"""Invoices and credit notes: numbering, the buyer's billing details, PDFs and their endpoints."""
