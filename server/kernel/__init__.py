"""The shared kernel: small pieces every domain may use (no Flask, no Firestore).

Domains import the kernel; the kernel imports no domain and nothing of server/
outside itself.
"""
