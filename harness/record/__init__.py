"""A run as it happens: the pytest plugin's hooks, the pytest-free recorder, the scenario context, browser."""
