"""Models built from the real hub configurations (random weights, hub file layout), offline."""
