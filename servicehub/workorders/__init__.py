"""Collaborative work orders (协同工单): handing a request's problem to another person, team or company.

An operator who cannot settle a request on the spot opens a work order from it (type,
description, receiver, due time). The receiver accepts it or sends it back, works on it
with progress notes, and returns it with a result; the originating side is told, answers
the customer and closes the order. A reopened order goes back to its receiver. The steps
and who may take them are one explicit table (:mod:`servicehub.workorders.machine`);
every step is a :class:`~servicehub.core.models.WorkOrderStep`, an audit event and a live
event, and the people on the other side get a notification.

Who sees what -- the decision
-----------------------------
- **The originating side** is everyone who may see the order's request (``request.view``
  scope): they see the order and, with ``request.transfer`` on the request, close or
  reopen it. Opening one needs ``request.transfer`` on the request.
- **The receiving side** is ``workorder.handle``: scope ``own`` reaches orders sent to the
  user, to one of their teams or to their company; ``org`` everything sent into their
  company (a partner supervisor); ``all`` every order. Only the receiving side accepts,
  sends back, adds progress and returns; the originating side seeing an order is not
  enough for that (Forbidden, not NotVisible: they may see it).
- An order outside both sides answers NotVisible -- the same as an id that does not exist
  -- on every page, form and list (``permissions._CLAUSES[WorkOrder]``).
- **The request behind an order, for a receiver who may not see its account otherwise**
  (a partner company asked to check a bill of an in-house account): the order's page shows
  that request's conversation *read-only* -- the customer's name, the account, the
  messages (phone and ID numbers masked unless the receiver sees phones on that account;
  what the filters dropped, never), no notes, no customer page, no reply box. Their scope
  on requests does not change: ``/requests/<id>`` and the JSON API still answer 404 for
  them, and nothing they can do on the order writes to the request. They need the
  conversation to do the work; they need no more.
"""
