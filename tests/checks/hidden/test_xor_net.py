"""hidden checks for exercise xor_net (placeholder: to be written)."""
