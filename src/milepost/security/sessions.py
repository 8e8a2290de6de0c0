"""Keys the security app keeps in a signed-in session (epoch seconds)."""

SESSION_STARTED = "milepost_session_started"
SESSION_SEEN = "milepost_session_seen"
PENDING_OTP_USER = "milepost_pending_otp_user"
PENDING_OTP_BACKEND = "milepost_pending_otp_backend"
PENDING_OTP_NEXT = "milepost_pending_otp_next"
