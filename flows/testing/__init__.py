"""Running flows without a phone: scenarios, simulated callers, the harness, the runner."""
