-- Addresses each user signed in from successfully, the most recent few per user: failures from
-- other addresses never refuse a sign-in from one of these (docs/identity.md, "Sign-in throttling").
-- Shared, so that the node that takes the role after a failover knows them too. Times are the
-- database's.
CREATE TABLE user_known_addresses (
    user_id             UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address             VARCHAR(64) NOT NULL,
    last_signed_in_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (user_id, address)
);

-- Where a security event came from (sign-ins, lockouts, refused permissions, token reuse): the
-- client address as ClientAddress resolved it. NULL for entries that are not tied to a request.
ALTER TABLE audit_log ADD COLUMN client_address VARCHAR(64);
