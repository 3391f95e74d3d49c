"""The journey map: its model, the YAML reader, features and tags, the step catalogue, map check, diff."""
