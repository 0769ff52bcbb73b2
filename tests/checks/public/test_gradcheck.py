"""public checks for exercise gradcheck (placeholder: to be written)."""
