"""Credits: the free daily allowance, purchased credits, and the append-only ledger of every movement."""
