"""Presenting twin answers to people: words, numbers, slides, exports and catalogues."""
