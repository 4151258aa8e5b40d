#!/bin/sh
# docker-compose: the postgres image runs this once, on an empty data directory, as the
# superuser, with POSTGRES_DB (custody) already created. The roles are roles.sql's.
set -eu
psql --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v ON_ERROR_STOP=1 \
     -v owner_password="$CUSTODY_DB_OWNER_PASSWORD" \
     -v app_password="$CUSTODY_DB_APP_PASSWORD" \
     -v reader_password="$CUSTODY_DB_READER_PASSWORD" \
     -f /custody/roles.sql
