"""Outgoing webhooks to the shop (issue #12): only signing so far."""
