-- The open-alarm lookup of every stored event that a definition concerns reads a source's alarms
-- that are not closed.
CREATE INDEX alarms_source_state ON alarms (source, state);

-- When an operator must have acted on an alarm or it escalates (raises alarm.escalated): set when
-- it is raised by a definition with actionRequiredWithinSeconds, cleared when an operator changes
-- its state and when it escalates, so the escalation tick's indexed query only finds alarms that
-- are still waiting.
ALTER TABLE alarms ADD COLUMN action_due_at TIMESTAMP WITH TIME ZONE;
CREATE INDEX alarms_action_due ON alarms (action_due_at);

-- The retention purge finds alarms by their last change.
CREATE INDEX alarms_updated_at ON alarms (updated_at);

-- When a definition is active: its time profile (time zone and weekly intervals) as JSON text,
-- null for always.
ALTER TABLE alarm_definitions ADD COLUMN active_when_json VARCHAR(8000);

-- The problem of an ineligible node that the owner raised dataprotection.key.unwrap_failed for, so
-- that it is raised once per problem, also across a failover; cleared when the node is eligible.
ALTER TABLE cluster_node_checks ADD COLUMN reported_problem TEXT;
