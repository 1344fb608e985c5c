"""The flow on livekit-agents: the root agent, tasks, tools, compiler, offline LLM."""
