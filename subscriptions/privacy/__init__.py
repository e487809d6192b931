"""What the shop owes a person about their data: erasure, access export, retention.

README, "Privacy and security", says what is removed, what is kept and why.
"""
