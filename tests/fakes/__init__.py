"""Fakes of what the product talks to, so that the pure core is tested without Docker."""
