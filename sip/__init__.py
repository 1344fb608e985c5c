"""Telephony: keypad entry, transfer to a human, dial outcomes, routing and provisioning."""
