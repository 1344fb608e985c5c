"""The HTTP API of ``intake serve`` (CONTRACT.md section 4): ``create_app`` in ``app``.

Nothing heavy is imported here, so the command line can read ``simulation`` cheaply.
"""
