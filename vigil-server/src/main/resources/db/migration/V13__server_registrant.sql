-- Which component registered a server: the OAuth client id of a component acting for itself, so
-- that a component may change only its own server. NULL when a user registered it, and for servers
-- registered before registrants were recorded: such servers are no component's.
ALTER TABLE servers ADD COLUMN registered_by VARCHAR(64);
