-- The secrets masked by the up migration are gone for good: nothing to restore.
SELECT 1;
