"""Hosted pages: login, sign-up, password reset, e-mail verification, account."""
