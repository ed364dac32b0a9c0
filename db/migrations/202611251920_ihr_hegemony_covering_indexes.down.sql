-- dockyard:no-transaction
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_originasn_timebin
    ON public.ihr_hegemony (originasn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_asn_timebin
    ON public.ihr_hegemony (asn_id, timebin DESC);
DROP INDEX CONCURRENTLY IF EXISTS public.ihr_hegemony_originasn_timebin_covering;
DROP INDEX CONCURRENTLY IF EXISTS public.ihr_hegemony_asn_timebin_covering;
