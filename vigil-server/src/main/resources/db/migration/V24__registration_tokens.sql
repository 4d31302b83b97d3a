-- One-time registration tokens: an administrator creates one, a component redeems it once at
-- POST /api/v1/components/register for its own OAuth client and its server's registration. The
-- token itself is a random 256-bit value shown once; only its SHA-256 hash is stored, as for
-- client secrets. A redeemed token keeps its row (used_at, the client and server it made) for the
-- listing; revoking deletes the row.
CREATE TABLE registration_tokens (
    id              UUID PRIMARY KEY,
    token_hash      VARCHAR(64) NOT NULL,
    server_type     VARCHAR(50),
    created_by      VARCHAR(200) NOT NULL,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    expires_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    used_at         TIMESTAMP WITH TIME ZONE,
    used_by_client  VARCHAR(64),
    server_id       UUID,
    CONSTRAINT registration_tokens_hash_unique UNIQUE (token_hash)
);
