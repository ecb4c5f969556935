"""What posts and photos share: moderated content with comments.

models (text fields, moderation state and decisions), service (the shared use
cases), store (guarded Firestore changes, counted comments), routes (the shared
routes, named as each kind's own). posts/ and photos/ are its two kinds.
"""
