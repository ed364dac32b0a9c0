-- dockyard:no-transaction
-- ihr: the indexes the API's queries need, beside the legacy single-column ones. Each list filters
-- on a key (an AS, a country, a location…) and a timebin range, so every index is (key, timebin
-- DESC): one index range scan per request, rows already in time order. Built CONCURRENTLY so this
-- runs on a live production database without blocking the loaders; IF NOT EXISTS makes a re-run
-- after an interrupted build cheap (an INVALID index left by a failed build must be dropped first:
-- see docs/ihr.md, "Schema").
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_originasn_timebin
    ON public.ihr_hegemony (originasn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_asn_timebin
    ON public.ihr_hegemony (asn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_asn_originasn_timebin
    ON public.ihr_hegemony (asn_id, originasn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_alarms_asn_timebin
    ON public.ihr_hegemony_alarms (asn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_alarms_originasn_timebin
    ON public.ihr_hegemony_alarms (originasn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemonycone_asn_timebin
    ON public.ihr_hegemonycone (asn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_country_asn_timebin
    ON public.ihr_hegemony_country (asn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_country_country_timebin
    ON public.ihr_hegemony_country (country_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_prefix_prefix_timebin
    ON public.ihr_hegemony_prefix (prefix, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_prefix_asn_timebin
    ON public.ihr_hegemony_prefix (asn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_prefix_originasn_timebin
    ON public.ihr_hegemony_prefix (originasn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_hegemony_prefix_country_timebin
    ON public.ihr_hegemony_prefix (country_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_atlas_delay_startpoint_timebin
    ON public.ihr_atlas_delay (startpoint_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_atlas_delay_endpoint_timebin
    ON public.ihr_atlas_delay (endpoint_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_atlas_delay_start_end_timebin
    ON public.ihr_atlas_delay (startpoint_id, endpoint_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_atlas_delay_alarms_startpoint_timebin
    ON public.ihr_atlas_delay_alarms (startpoint_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_atlas_delay_alarms_endpoint_timebin
    ON public.ihr_atlas_delay_alarms (endpoint_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_delay_asn_timebin
    ON public.ihr_delay (asn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_forwarding_asn_timebin
    ON public.ihr_forwarding (asn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_delay_alarms_asn_timebin
    ON public.ihr_delay_alarms (asn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_forwarding_alarms_asn_timebin
    ON public.ihr_forwarding_alarms (asn_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_tr_hegemony_origin_timebin
    ON public.ihr_tr_hegemony (origin_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_tr_hegemony_dependency_timebin
    ON public.ihr_tr_hegemony (dependency_id, timebin DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_metis_atlas_selection_metric_rank_timebin
    ON public.ihr_metis_atlas_selection (metric, rank, timebin);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_metis_atlas_deployment_metric_rank_timebin
    ON public.ihr_metis_atlas_deployment (metric, rank, timebin);
-- Locations and identifiers are looked up by name (the *_name and *_key filters).
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_atlas_location_name_type_af
    ON public.ihr_atlas_location (name, type, af);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_tr_hegemony_identifier_name_type_af
    ON public.ihr_tr_hegemony_identifier (name, type, af);
CREATE INDEX CONCURRENTLY IF NOT EXISTS ihr_disco_events_starttime
    ON public.ihr_disco_events (starttime);
