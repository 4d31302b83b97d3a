-- Confidential clients' secrets are random 256-bit values: a SHA-256 hash is enough to check them,
-- and unlike the encrypted copy it gives nothing back to whoever reads the database with the key
-- ring. Nodes hash the secrets stored encrypted by earlier versions when they start, then clear
-- secret_protected.
ALTER TABLE oauth_clients ADD COLUMN secret_hash VARCHAR(64);
