"""The gap report: the self-contained HTML page, its JSON, and the CSV, Markdown and JUnit exports."""
