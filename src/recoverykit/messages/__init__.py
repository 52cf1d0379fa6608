"""Messages: templates, fields, lint and guard, SMS segments, WhatsApp payloads and packs."""
