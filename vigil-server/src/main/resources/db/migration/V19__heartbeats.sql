-- The data collector. Each server reports every heartbeat_interval_seconds (from its registration);
-- the owner marks it offline after Collector.MissedHeartbeats intervals without one.
-- load_figures holds the latest load figures a heartbeat carried, as JSON text, so that a
-- heartbeat stays one UPDATE of this row; NULL until a heartbeat carries figures.
ALTER TABLE servers ADD COLUMN heartbeat_interval_seconds INTEGER DEFAULT 5 NOT NULL;
ALTER TABLE servers ADD COLUMN load_figures VARCHAR(10000);
