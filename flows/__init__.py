"""A call's flow, from the spec an author writes to the payload it produces.

Layers, each importing only those before it::

    flows.spec      what an author writes: field types, FlowSpec, FieldPath, YAML, catalog
    flows.engine    one call's logic, pure: parsers, collector, payload, ports, Call
    flows.agent     the flow on livekit-agents: root agent, tasks, tools, offline LLM
    flows.testing   scenarios, simulated callers, the text-session harness, runner

``flows.errors`` (the one error tree) sits beneath them all. ``flows.spec`` and
``flows.engine`` never import livekit; tests/test_layers.py holds them to it.
"""
