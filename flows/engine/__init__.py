"""One call's logic, pure and synchronous where it can be: no livekit here.

Parsers, answers and read-backs, keypad rules, intents, the collector, replies, the
outcome vocabulary, the payload, the ports the call talks through, and ``Call`` itself.
"""
