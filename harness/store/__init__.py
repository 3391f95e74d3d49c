"""Where observations live: the SQLite store, its mail and runner tables, the window read for the analysis."""
