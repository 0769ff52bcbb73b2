"""hidden checks for exercise gradcheck (placeholder: to be written)."""
