"""Declarative data-collection flows: spec, parsers, compiler, offline engine, simulator."""
