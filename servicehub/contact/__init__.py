"""Reaching customers outside the platforms: phone, CRM, SMS/MMS and e-mail, linked identities.

- ``crm.py``: the :class:`~servicehub.contact.crm.CrmConnector` seam (look up by phone, read
  a record), an HTTP implementation and the built-in table of the embedded mode;
- ``sms.py``: the SMS/MMS gateway seam, an HTTP implementation signed like the big cloud
  SMS APIs, and the delivery reports it posts back;
- ``email.py``: e-mail over SMTP (STARTTLS / implicit TLS);
- ``channels.py``: what the outbox calls to send an SMS, MMS or e-mail row;
- ``actions.py`` / ``identities.py``: the ``do_*`` actions (confirm a phone, link a CRM
  record, queue a send, link and unlink identities); ``reports.py``: delivery reports;
  ``panel.py``: what the request page's customer panel shows;
- ``simulator.py`` / ``smtp_sink.py``: a CRM + SMS gateway simulator (aiohttp) and a local
  SMTP server (aiosmtpd) for the demo and the tests.
"""
