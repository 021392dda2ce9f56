"""Sales leads (销售线索): an interest a customer showed in a service conversation, followed up.

A lead is logged from a request or from a customer the operator may see, and belongs to
the logging operator's company: ``lead.manage`` at scope ``org`` reaches that company's
leads (a partner sees only its own), ``own`` only the leads one owns or logged, ``all``
every lead. Its stage moves potential → intentional → won / lost (``STAGES`` below says
exactly which moves are allowed), its owner can change to a colleague of the same
company; both are kept as history. Exporting the list as CSV needs ``export`` too, and
masks phone and ID numbers for readers who do not see them on the lead's account.
"""
