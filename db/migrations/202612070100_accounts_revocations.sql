-- accounts: why an API token stopped (revoked by its owner, password changed or reset, account
-- deactivated), shown in the token list and the export; and the outbox by recipient, for the
-- "once a day" notices and `dockyard mail list --to`.
ALTER TABLE accounts.api_tokens ADD COLUMN revoked_why text;
CREATE INDEX outbox_recipient_idx ON accounts.outbox (lower(recipient), created_at);
