"""Local stand-ins that speak real protocols (LiveKit Twirp API, OpenAI chat completions)."""
