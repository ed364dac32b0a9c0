"""accounts' SQL, split by what it reads and writes; each statement sits beside the function running it.

`users` (accounts and their profile), `sessions` (logins and refresh tokens), `tokens` (API tokens
and mailed one-time tokens), `groups` (groups, permissions, memberships). Connection first,
keyword-only values; no rule lives here (see `service.py`, `administration.py`, `apitokens.py`).
"""
