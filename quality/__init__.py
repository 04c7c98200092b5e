"""Great Expectations for citylake: custom expectations and suites derived from the catalog.

Import this package only inside tasks: ``great_expectations`` costs 10-12 s to import.
"""
