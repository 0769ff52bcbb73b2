"""public checks for exercise optimizers (placeholder: to be written)."""
