"""E-mail: messages queued in the transaction that causes them, sent by a courier with retries."""
