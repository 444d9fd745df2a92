"""One client per AWS resource, between the services and the core: the odds table, the fit ledger, the posterior store.

Services call these; these call the core for the formats and AWS for the bytes; the core calls neither.
"""
