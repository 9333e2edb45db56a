"""Use the core's testing kit (contract suites, isolated registry) in this plugin's tests."""

pytest_plugins = ["forensic_core.testing"]
