"""Signals of the outbox, for the apps whose messages they are (no import of those apps here)."""

from django.dispatch import Signal

# Sent inside the delivering transaction with `messages`: the rows just marked sent (their
# sent_at is the moment they left). Receivers must not send anything themselves.
message_sent = Signal()
