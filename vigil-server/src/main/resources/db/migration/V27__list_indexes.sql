-- Indexes for lists that stay fast as a site grows (bench/growth.sh).
--
-- Alarms are listed by priority, newest first within a priority (ORDER BY priority, id DESC). The
-- index on (priority, id) gave that order only by priority: H2 sorted every alarm of a priority for
-- each page, and PostgreSQL cannot read (priority ASC, id ASC) as (priority ASC, id DESC) either.
-- This one gives the whole order, forwards, and replaces it (a filter on priority uses it as well).
CREATE INDEX alarms_priority_newest ON alarms (priority, id DESC);
DROP INDEX alarms_order;
