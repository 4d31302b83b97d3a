-- When the owner last renewed (or took) the lease, by the database clock. A standby that finds the
-- owner's lock free takes over before the lease expires only when the owner renewed after the
-- standby's own lock session opened and no session of the owner's process remains: then the
-- owner's sessions ended on their own, not in a restart of the database server.
ALTER TABLE cluster_lease ADD COLUMN renewed_at TIMESTAMP WITH TIME ZONE;
