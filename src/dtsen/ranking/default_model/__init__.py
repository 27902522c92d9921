"""The PMT model and feature specs the product ships (data files only; no survey rows)."""
