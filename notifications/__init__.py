"""Operator notifications: every alert the product raises goes to the channels the operator configured (webhook,
email, Slack, Discord) through a durable outbox, with retries and backoff, audited once with its outcome."""
