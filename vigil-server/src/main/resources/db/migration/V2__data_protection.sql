-- The data protection key ring: AES-256 data keys, each stored only wrapped by a key protector
-- (the machine key file, or later a certificate). protector_id names the protector that wrapped
-- the key, so a node can tell "wrapped elsewhere" from "damaged".
CREATE TABLE data_protection_keys (
    id            UUID PRIMARY KEY,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    activates_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    protector_id  VARCHAR(200) NOT NULL,
    wrapped_key   BYTEA NOT NULL,
    revoked       BOOLEAN NOT NULL DEFAULT FALSE
);

-- One row that key creators lock (SELECT ... FOR UPDATE) so that two nodes finding the ring empty
-- or its key about to expire at the same moment create one key between them, not two.
CREATE TABLE data_protection_lock (
    id  INT PRIMARY KEY
);
INSERT INTO data_protection_lock (id) VALUES (1);
