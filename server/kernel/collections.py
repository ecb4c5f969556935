"""Every Firestore collection name, once."""

USERS = "users"
USERNAMES = "usernames"
SESSIONS = "sessions"
ACCOUNTS = "accounts"
TRANSFERS = "transfers"
POSTINGS = "postings"
IDEMPOTENCY = "idempotency"
AUDIT = "audit"
POSTS = "posts"
COMMENTS = "comments"  # the posts' comments
APPROVED_POSTS = "approved_posts"  # the gates: one per approved post
PHOTOS = "photos"
PHOTO_COMMENTS = "photo_comments"
APPROVED_PHOTOS = "approved_photos"
CONVERSATIONS = "conversations"
MESSAGES = "messages"
