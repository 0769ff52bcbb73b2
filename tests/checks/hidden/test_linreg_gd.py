"""hidden checks for exercise linreg_gd (placeholder: to be written)."""
