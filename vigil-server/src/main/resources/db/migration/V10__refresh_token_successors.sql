-- When a refresh token was redeemed (database clock) and which token it was redeemed for. A client
-- whose refresh response was lost in a failover retries with the token it still holds; within the
-- reuse grace that retry replaces the successor it never received instead of revoking its session.
ALTER TABLE refresh_tokens ADD COLUMN used_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE refresh_tokens ADD COLUMN parent_hash VARCHAR(64);
CREATE INDEX refresh_tokens_parent ON refresh_tokens (parent_hash);
