"""Amounts in words, in the Indian system (thousand, lakh, crore) as Indian invoices write them:
248_850 paise → "Rupees Two Thousand Four Hundred Eighty-Eight and Fifty Paise Only"."""

from __future__ import annotations

_ONES = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
]
_TENS = ["_", "_", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"]
# Largest first; what is left above a crore is itself counted in words ("One Hundred Crore").
_SCALES = ((10_000_000, "Crore"), (100_000, "Lakh"), (1000, "Thousand"), (100, "Hundred"))


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")


def number_in_words(n: int) -> str:
    """A whole number ≥ 0 in words: 2_345_678 → "Twenty-Three Lakh Forty-Five Thousand Six Hundred Seventy-Eight"."""
    if n < 0:
        raise ValueError("only amounts of zero or more have words here")
    if n < 100:
        return _below_hundred(n)
    parts: list[str] = []
    for size, name in _SCALES:
        count, n = divmod(n, size)
        if count:
            parts.append(f"{number_in_words(count)} {name}")
    if n:
        parts.append(_below_hundred(n))
    return " ".join(parts)


def amount_in_words(paise: int) -> str:
    """An INR amount in paise, in words, the way an invoice's total is written."""
    rupees, rest = divmod(paise, 100)
    words = f"Rupees {number_in_words(rupees)}"
    if rest:
        words += f" and {number_in_words(rest)} {'Paisa' if rest == 1 else 'Paise'}"
    return words + " Only"
