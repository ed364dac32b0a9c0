-- ihr: what a Dockyard account monitors on the Internet Health Report, and how it wants to be told.
-- Successors of the legacy ihr_monitoredasn and ihr_ihruser_channel (specs/ihr-api.md §3), keyed by
-- accounts.users instead of ihr_ihruser. No foreign key to ihr_asn: that legacy table comes later,
-- and a user may watch an AS before IHR has data for it.

-- notifylevel: 0 low, 5 moderate, 10 high (the legacy levels and default). The API replaces a user's
-- whole list at once, so created_at is when the current list was saved.
CREATE TABLE public.ihr_user_monitoredasn (
    user_id     bigint      NOT NULL REFERENCES accounts.users (id) ON DELETE CASCADE,
    asn         bigint      NOT NULL,
    notifylevel smallint    NOT NULL DEFAULT 10 CHECK (notifylevel IN (0, 5, 10)),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, asn)
);
-- "Who monitors AS X": the notifier's lookup when an alarm is raised for X.
CREATE INDEX ihr_user_monitoredasn_asn_idx ON public.ihr_user_monitoredasn (asn);

CREATE TABLE public.ihr_user_channel (
    user_id    bigint      NOT NULL REFERENCES accounts.users (id) ON DELETE CASCADE,
    channel    text        NOT NULL CHECK (channel IN ('email')),
    frequency  text        NOT NULL DEFAULT 'normal' CHECK (frequency IN ('normal', 'daily', 'weekly')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, channel)
);

-- Deleting an account through the API anonymises the users row instead of deleting it (other
-- services keep their references), so the cascade above does not fire. What the user monitored is
-- personal data: erase it when the account is marked deleted, in the same transaction, whichever
-- process does it. Accounts never needs to know about IHR's tables.
CREATE FUNCTION public.ihr_user_erase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM public.ihr_user_monitoredasn WHERE user_id = NEW.id;
    DELETE FROM public.ihr_user_channel WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER ihr_user_erase_on_account_delete
    AFTER UPDATE OF deleted_at ON accounts.users
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION public.ihr_user_erase();
