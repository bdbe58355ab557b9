"""Amounts and numbers for people: one formatting for pages, mails and services alike."""

from __future__ import annotations

from decimal import Decimal


def money(amount: int, currency: str = "INR") -> str:
    """An amount in the currency's smallest unit, for people: 84000 → ₹840.00."""
    symbol = {"INR": "₹"}.get(currency, currency + " ")
    return f"{symbol}{Decimal(amount) / 100:,.2f}"


def number(value: int | float) -> str:
    return f"{value:,}"


def percent(value: Decimal | float) -> str:
    """12.50 → "12.5%", 10.00 → "10%"."""
    return f"{Decimal(str(value)).normalize():f}%"
