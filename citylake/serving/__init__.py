"""Serving: who reads what, and how readers reach the published warehouse.

``access`` (the access policy from the marts' meta and the served schemas), ``sql_guard``
(the department query guard), ``pseudonym`` (the keyed HMAC and its key), ``superset``
(the Superset driver) and ``dashboards`` (the assets bundle). May import only the core
(settings, catalog): the warehouse uses it to publish, the CLI and pipeline to serve.
"""
