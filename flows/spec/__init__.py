"""What a flow author writes: field types, the flow spec, field paths, YAML with lines."""
