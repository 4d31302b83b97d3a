-- The open-alarm lookup of every stored event that a definition concerns reads a source's alarms
-- that are not closed.
CREATE INDEX alarms_source_state ON alarms (source, state);
