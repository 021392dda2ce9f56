"""An operator's day around the requests: announcements from supervisors and canned replies."""
