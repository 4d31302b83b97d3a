-- The API counts lengths in characters (Unicode code points), as people do: a name of 200
-- characters outside the Basic Multilingual Plane (emoji, rarer CJK) is 400 UTF-16 units, and the
-- embedded database counts those. Each column holds four times its limit, the most any character
-- needs in any encoding; the API enforces the limits themselves.
ALTER TABLE servers ALTER COLUMN name SET DATA TYPE VARCHAR(800);
ALTER TABLE servers ALTER COLUMN name_key SET DATA TYPE VARCHAR(800);
ALTER TABLE servers ALTER COLUMN address SET DATA TYPE VARCHAR(8000);
ALTER TABLE servers ALTER COLUMN sw_version SET DATA TYPE VARCHAR(400);
ALTER TABLE hardware ALTER COLUMN name SET DATA TYPE VARCHAR(800);
ALTER TABLE hardware ALTER COLUMN name_key SET DATA TYPE VARCHAR(800);
ALTER TABLE hardware ALTER COLUMN address SET DATA TYPE VARCHAR(8000);
ALTER TABLE hardware ALTER COLUMN model SET DATA TYPE VARCHAR(800);
ALTER TABLE hardware ALTER COLUMN username SET DATA TYPE VARCHAR(800);
ALTER TABLE cameras ALTER COLUMN name SET DATA TYPE VARCHAR(800);
ALTER TABLE cameras ALTER COLUMN name_key SET DATA TYPE VARCHAR(800);
ALTER TABLE site_settings ALTER COLUMN site_name SET DATA TYPE VARCHAR(800);
ALTER TABLE site_settings ALTER COLUMN management_server_address SET DATA TYPE VARCHAR(8000);
ALTER TABLE users ALTER COLUMN display_name SET DATA TYPE VARCHAR(800);
ALTER TABLE identity_providers ALTER COLUMN display_name SET DATA TYPE VARCHAR(800);
