"""Built-in message packs and phrase lists, shipped as data."""
