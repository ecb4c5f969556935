"""The local development stack: emulators, redis, process supervision, the run command and demo data.

Never shipped: production runs `server` alone. This package reaches the server only
through `server.create_app` (and the operator CLI on it).
"""
