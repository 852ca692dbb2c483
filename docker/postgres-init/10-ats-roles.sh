#!/bin/sh
# First start of the postgres container only (docker-entrypoint-initdb.d): the two ATS roles.
#   ats_owner  owns the database, its schema and every table (`migrate` runs as it, and only it can alter,
#              disable or drop the append-only triggers);
#   ats_app    what web and worker connect as: not a superuser, not an owner; `migrate` grants it row reads and
#              writes, and only SELECT/INSERT on the audit and approval tables (ATS_DB_APP_ROLE=ats_app).
set -eu
: "${ATS_DB_OWNER_PASSWORD:?set ATS_DB_OWNER_PASSWORD}"
: "${ATS_DB_APP_PASSWORD:?set ATS_DB_APP_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v owner_pw="$ATS_DB_OWNER_PASSWORD" -v app_pw="$ATS_DB_APP_PASSWORD" <<'SQL'
CREATE ROLE ats_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'owner_pw';
CREATE ROLE ats_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'app_pw';
ALTER DATABASE ats OWNER TO ats_owner;
ALTER SCHEMA public OWNER TO ats_owner;
REVOKE ALL ON DATABASE ats FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE ats TO ats_owner, ats_app;
GRANT USAGE ON SCHEMA public TO ats_app;
SQL
