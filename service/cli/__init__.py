"""The ``intake`` command line: ``main`` plus one module per command group.

Commands that run no call never import livekit.agents: their modules import it lazily.
"""
