"""The map held against the visits: verdicts per touchpoint and segment, the action plan, movements."""
