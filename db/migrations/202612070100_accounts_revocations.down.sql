DROP INDEX IF EXISTS accounts.outbox_recipient_idx;
ALTER TABLE accounts.api_tokens DROP COLUMN IF EXISTS revoked_why;
