"""One module per CTAP command; each exposes ``async def handle(authenticator, params)``."""
