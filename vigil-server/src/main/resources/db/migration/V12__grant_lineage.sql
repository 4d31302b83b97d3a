-- When the user of a refresh-token family signed in: ID tokens issued on refresh carry that time as
-- auth_time, not the time of the refresh (OIDC Core 2). NULL for families from earlier versions.
ALTER TABLE refresh_tokens ADD COLUMN auth_time TIMESTAMP WITH TIME ZONE;
-- A redeemed authorization code is kept, marked used, with the refresh-token family it started, so
-- that a replay of it revokes that family (RFC 6749 4.1.2) instead of merely failing.
ALTER TABLE authorization_codes ADD COLUMN used BOOLEAN DEFAULT FALSE NOT NULL;
ALTER TABLE authorization_codes ADD COLUMN family_id UUID;
