-- ihr: the Internet Health Report tables exactly as the legacy Django application created them
-- (specs/ihr-api.md §2): table and column names and types, bigint ids where production has them,
-- deferrable foreign keys with an index on each, the db_index indexes and their *_like twins.
--
-- This is the oldest migration on purpose: an existing IHR database is adopted with
--     migrate_db.sh baseline 202611221200
-- which records only this file as applied; `migrate_db.sh` then adds everything newer (Dockyard's
-- bookkeeping, accounts, the hot-query indexes) around the untouched legacy tables.
-- The legacy user tables (ihr_ihruser, ihr_monitoredasn, authtoken_token, …) are not created:
-- Dockyard keeps users in `accounts` (see 202611221600_ihr_user_monitoring.sql).

CREATE TABLE public.ihr_asn (
    number      bigint       NOT NULL PRIMARY KEY,  -- IXPs are negative, 0 is the global graph
    name        varchar(255) NOT NULL,
    tartiflette boolean      NOT NULL,
    disco       boolean      NOT NULL,
    ashash      boolean      NOT NULL
);

CREATE TABLE public.ihr_country (
    code        varchar(4)   NOT NULL PRIMARY KEY,
    name        varchar(255) NOT NULL,
    tartiflette boolean      NOT NULL,
    disco       boolean      NOT NULL
);
CREATE INDEX ihr_country_code_like ON public.ihr_country (code varchar_pattern_ops);

-- Link delay and forwarding anomalies per AS.
CREATE TABLE public.ihr_delay (
    id        serial           NOT NULL PRIMARY KEY,
    timebin   timestamptz      NOT NULL,
    magnitude double precision NOT NULL,
    asn_id    bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_delay_timebin ON public.ihr_delay (timebin);
CREATE INDEX ihr_delay_asn_id ON public.ihr_delay (asn_id);

CREATE TABLE public.ihr_forwarding (
    id        serial           NOT NULL PRIMARY KEY,
    timebin   timestamptz      NOT NULL,
    magnitude double precision NOT NULL,
    asn_id    bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_forwarding_timebin ON public.ihr_forwarding (timebin);
CREATE INDEX ihr_forwarding_asn_id ON public.ihr_forwarding (asn_id);

CREATE TABLE public.ihr_delay_alarms (
    id          serial           NOT NULL PRIMARY KEY,
    timebin     timestamptz      NOT NULL,
    ip          varchar(64)      NOT NULL,
    link        varchar(128)     NOT NULL,
    medianrtt   double precision NOT NULL,
    diffmedian  double precision NOT NULL,
    deviation   double precision NOT NULL,
    nbprobes    integer          NOT NULL,
    msm_prb_ids jsonb            NULL,
    asn_id      bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_delay_alarms_timebin ON public.ihr_delay_alarms (timebin);
CREATE INDEX ihr_delay_alarms_ip ON public.ihr_delay_alarms (ip);
CREATE INDEX ihr_delay_alarms_ip_like ON public.ihr_delay_alarms (ip varchar_pattern_ops);
CREATE INDEX ihr_delay_alarms_link ON public.ihr_delay_alarms (link);
CREATE INDEX ihr_delay_alarms_link_like ON public.ihr_delay_alarms (link varchar_pattern_ops);
CREATE INDEX ihr_delay_alarms_asn_id ON public.ihr_delay_alarms (asn_id);

CREATE TABLE public.ihr_forwarding_alarms (
    id             serial           NOT NULL PRIMARY KEY,
    timebin        timestamptz      NOT NULL,
    ip             varchar(64)      NOT NULL,
    correlation    double precision NOT NULL,
    responsibility double precision NOT NULL,
    pktdiff        double precision NOT NULL,
    previoushop    varchar(64)      NOT NULL,
    msm_prb_ids    jsonb            NULL,
    asn_id         bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_forwarding_alarms_timebin ON public.ihr_forwarding_alarms (timebin);
CREATE INDEX ihr_forwarding_alarms_ip ON public.ihr_forwarding_alarms (ip);
CREATE INDEX ihr_forwarding_alarms_ip_like ON public.ihr_forwarding_alarms (ip varchar_pattern_ops);
CREATE INDEX ihr_forwarding_alarms_asn_id ON public.ihr_forwarding_alarms (asn_id);

-- The Atlas measurement and probe behind each alarm (related name `msmid` in the API).
CREATE TABLE public.ihr_delay_alarms_msms (
    id       serial  NOT NULL PRIMARY KEY,
    msmid    bigint  NOT NULL,
    probeid  integer NOT NULL,
    alarm_id integer NOT NULL
        REFERENCES public.ihr_delay_alarms (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_delay_alarms_msms_alarm_id ON public.ihr_delay_alarms_msms (alarm_id);

CREATE TABLE public.ihr_forwarding_alarms_msms (
    id       serial  NOT NULL PRIMARY KEY,
    msmid    bigint  NOT NULL,
    probeid  integer NOT NULL,
    alarm_id integer NOT NULL
        REFERENCES public.ihr_forwarding_alarms (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_forwarding_alarms_msms_alarm_id ON public.ihr_forwarding_alarms_msms (alarm_id);

-- Network disconnections (disco) and the Atlas probes that saw them.
CREATE TABLE public.ihr_disco_events (
    id            serial           NOT NULL PRIMARY KEY,
    mongoid       varchar(24)      NOT NULL,
    streamtype    varchar(10)      NOT NULL,
    streamname    varchar(128)     NOT NULL,
    starttime     timestamptz      NOT NULL,
    endtime       timestamptz      NOT NULL,
    avglevel      double precision NOT NULL,
    nbdiscoprobes integer          NOT NULL,
    totalprobes   integer          NOT NULL,
    ongoing       boolean          NOT NULL
);
CREATE INDEX ihr_disco_events_mongoid ON public.ihr_disco_events (mongoid);
CREATE INDEX ihr_disco_events_mongoid_like ON public.ihr_disco_events (mongoid varchar_pattern_ops);
CREATE INDEX ihr_disco_events_stream_time
    ON public.ihr_disco_events (streamtype, streamname, starttime, endtime);

CREATE TABLE public.ihr_disco_probes (
    id        serial           NOT NULL PRIMARY KEY,
    probe_id  integer          NOT NULL,
    starttime timestamptz      NOT NULL,
    endtime   timestamptz      NOT NULL,
    level     double precision NOT NULL,
    ipv4      varchar(64)      NOT NULL,
    prefixv4  varchar(70)      NOT NULL,
    lat       double precision NOT NULL,
    lon       double precision NOT NULL,
    event_id  integer          NOT NULL
        REFERENCES public.ihr_disco_events (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_disco_probes_event_id ON public.ihr_disco_probes (event_id);

-- AS hegemony: how much `originasn` depends on `asn` (originasn 0: the global graph).
CREATE TABLE public.ihr_hegemony (
    id          bigserial        NOT NULL PRIMARY KEY,
    timebin     timestamptz      NOT NULL,
    hege        double precision NOT NULL,
    af          integer          NOT NULL,
    asn_id      bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED,
    originasn_id bigint          NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_hegemony_timebin ON public.ihr_hegemony (timebin);
CREATE INDEX ihr_hegemony_asn_id ON public.ihr_hegemony (asn_id);
CREATE INDEX ihr_hegemony_originasn_id ON public.ihr_hegemony (originasn_id);

CREATE TABLE public.ihr_hegemonycone (
    id       serial      NOT NULL PRIMARY KEY,
    timebin  timestamptz NOT NULL,
    conesize integer     NOT NULL,
    af       integer     NOT NULL,
    asn_id   bigint      NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_hegemonycone_timebin ON public.ihr_hegemonycone (timebin);
CREATE INDEX ihr_hegemonycone_asn_id ON public.ihr_hegemonycone (asn_id);
CREATE INDEX ihr_hegemonycone_timebin_asn_af ON public.ihr_hegemonycone (timebin, asn_id, af);

CREATE TABLE public.ihr_hegemony_alarms (
    id           serial           NOT NULL PRIMARY KEY,
    timebin      timestamptz      NOT NULL,
    deviation    double precision NOT NULL,
    af           integer          NOT NULL,
    asn_id       bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED,
    originasn_id bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_hegemony_alarms_timebin ON public.ihr_hegemony_alarms (timebin);
CREATE INDEX ihr_hegemony_alarms_asn_id ON public.ihr_hegemony_alarms (asn_id);
CREATE INDEX ihr_hegemony_alarms_originasn_id ON public.ihr_hegemony_alarms (originasn_id);

-- Country hegemony, with the two weight schemes ('as', 'eyeball').
CREATE TABLE public.ihr_hegemony_country (
    id           bigserial        NOT NULL PRIMARY KEY,
    timebin      timestamptz      NOT NULL,
    hege         double precision NOT NULL,
    af           integer          NOT NULL,
    weight       double precision NOT NULL,
    weightscheme varchar(16)      NOT NULL,
    transitonly  boolean          NOT NULL,
    asn_id       bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED,
    country_id   varchar(4)       NOT NULL
        REFERENCES public.ihr_country (code) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_hegemony_country_timebin ON public.ihr_hegemony_country (timebin);
CREATE INDEX ihr_hegemony_country_asn_id ON public.ihr_hegemony_country (asn_id);
CREATE INDEX ihr_hegemony_country_country_id ON public.ihr_hegemony_country (country_id);
CREATE INDEX ihr_hegemony_country_country_id_like
    ON public.ihr_hegemony_country (country_id varchar_pattern_ops);

-- Prefix hegemony with routing statuses. Production's id is a bigint with no sequence: the
-- loader assigns it.
CREATE TABLE public.ihr_hegemony_prefix (
    id                      bigint           NOT NULL PRIMARY KEY,
    timebin                 timestamptz      NOT NULL,
    prefix                  varchar(64)      NOT NULL,
    hege                    double precision NOT NULL,
    af                      integer          NOT NULL,
    visibility              double precision NOT NULL,
    rpki_status             varchar(32)      NOT NULL,
    irr_status              varchar(32)      NOT NULL,
    delegated_prefix_status varchar(32)      NOT NULL,
    delegated_asn_status    varchar(32)      NOT NULL,
    descr                   varchar(64)      NOT NULL,
    moas                    boolean          NOT NULL,
    asn_id                  bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED,
    country_id              varchar(4)       NOT NULL
        REFERENCES public.ihr_country (code) DEFERRABLE INITIALLY DEFERRED,
    originasn_id            bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_hegemony_prefix_timebin ON public.ihr_hegemony_prefix (timebin);
CREATE INDEX ihr_hegemony_prefix_prefix ON public.ihr_hegemony_prefix (prefix);
CREATE INDEX ihr_hegemony_prefix_prefix_like ON public.ihr_hegemony_prefix (prefix varchar_pattern_ops);
CREATE INDEX ihr_hegemony_prefix_asn_id ON public.ihr_hegemony_prefix (asn_id);
CREATE INDEX ihr_hegemony_prefix_country_id ON public.ihr_hegemony_prefix (country_id);
CREATE INDEX ihr_hegemony_prefix_country_id_like
    ON public.ihr_hegemony_prefix (country_id varchar_pattern_ops);
CREATE INDEX ihr_hegemony_prefix_originasn_id ON public.ihr_hegemony_prefix (originasn_id);

-- RIPE Atlas network delay between locations (AS, city CT, probe PB, IP), and its alarms.
CREATE TABLE public.ihr_atlas_location (
    id   serial       NOT NULL PRIMARY KEY,
    name varchar(255) NOT NULL,
    type varchar(4)   NOT NULL,
    af   integer      NOT NULL
);

CREATE TABLE public.ihr_atlas_delay (
    id            bigserial        NOT NULL PRIMARY KEY,
    timebin       timestamptz      NOT NULL,
    median        double precision NOT NULL,
    nbtracks      integer          NOT NULL,
    nbprobes      integer          NOT NULL,
    entropy       double precision NOT NULL,
    hop           integer          NOT NULL,
    nbrealrtts    integer          NOT NULL,
    endpoint_id   integer          NOT NULL
        REFERENCES public.ihr_atlas_location (id) DEFERRABLE INITIALLY DEFERRED,
    startpoint_id integer          NOT NULL
        REFERENCES public.ihr_atlas_location (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_atlas_delay_timebin ON public.ihr_atlas_delay (timebin);
CREATE INDEX ihr_atlas_delay_endpoint_id ON public.ihr_atlas_delay (endpoint_id);
CREATE INDEX ihr_atlas_delay_startpoint_id ON public.ihr_atlas_delay (startpoint_id);

CREATE TABLE public.ihr_atlas_delay_alarms (
    id            serial           NOT NULL PRIMARY KEY,
    timebin       timestamptz      NOT NULL,
    deviation     double precision NOT NULL,
    endpoint_id   integer          NOT NULL
        REFERENCES public.ihr_atlas_location (id) DEFERRABLE INITIALLY DEFERRED,
    startpoint_id integer          NOT NULL
        REFERENCES public.ihr_atlas_location (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_atlas_delay_alarms_timebin ON public.ihr_atlas_delay_alarms (timebin);
CREATE INDEX ihr_atlas_delay_alarms_endpoint_id ON public.ihr_atlas_delay_alarms (endpoint_id);
CREATE INDEX ihr_atlas_delay_alarms_startpoint_id ON public.ihr_atlas_delay_alarms (startpoint_id);

-- Metis: the ASes to select or deploy Atlas probes in, ranked per metric.
CREATE TABLE public.ihr_metis_atlas_selection (
    id      serial           NOT NULL PRIMARY KEY,
    timebin timestamptz      NOT NULL,
    metric  varchar(16)      NOT NULL,
    rank    integer          NOT NULL,
    af      integer          NOT NULL,
    mean    double precision NOT NULL,
    asn_id  bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_metis_atlas_selection_timebin ON public.ihr_metis_atlas_selection (timebin);
CREATE INDEX ihr_metis_atlas_selection_asn_id ON public.ihr_metis_atlas_selection (asn_id);

CREATE TABLE public.ihr_metis_atlas_deployment (
    id        serial           NOT NULL PRIMARY KEY,
    timebin   timestamptz      NOT NULL,
    metric    varchar(16)      NOT NULL,
    rank      integer          NOT NULL,
    af        integer          NOT NULL,
    mean      double precision NOT NULL,
    nbsamples integer          NOT NULL,
    asn_id    bigint           NOT NULL
        REFERENCES public.ihr_asn (number) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_metis_atlas_deployment_timebin ON public.ihr_metis_atlas_deployment (timebin);
CREATE INDEX ihr_metis_atlas_deployment_asn_id ON public.ihr_metis_atlas_deployment (asn_id);

-- Traceroute hegemony between identifiers (AS, IX, MB, IP).
CREATE TABLE public.ihr_tr_hegemony_identifier (
    id   serial       NOT NULL PRIMARY KEY,
    name varchar(255) NOT NULL,
    type varchar(4)   NOT NULL,
    af   integer      NOT NULL
);

CREATE TABLE public.ihr_tr_hegemony (
    id            serial           NOT NULL PRIMARY KEY,
    timebin       timestamptz      NOT NULL,
    hege          double precision NOT NULL,
    af            integer          NOT NULL,
    nbsamples     integer          NOT NULL,
    dependency_id integer          NOT NULL
        REFERENCES public.ihr_tr_hegemony_identifier (id) DEFERRABLE INITIALLY DEFERRED,
    origin_id     integer          NOT NULL
        REFERENCES public.ihr_tr_hegemony_identifier (id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX ihr_tr_hegemony_timebin ON public.ihr_tr_hegemony (timebin);
CREATE INDEX ihr_tr_hegemony_dependency_id ON public.ihr_tr_hegemony (dependency_id);
CREATE INDEX ihr_tr_hegemony_origin_id ON public.ihr_tr_hegemony (origin_id);
