"""Values: money, customers and checkouts, phone numbers, zones, aware time and loaders."""
