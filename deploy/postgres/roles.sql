-- The ledger's three Postgres roles, for a database you run yourself (Kubernetes, a managed
-- Postgres). The model is custody_ledger/roles.py's, and a test checks this file grants exactly
-- what `roles.bootstrap` grants:
--
--   ledger_owner   owns every table and runs the migrations (`custody provision`); nothing else.
--                  Migration 0003 takes even its rights on the record away.
--   ledger_app     the ledger service's login: INSERT and SELECT on the record, owns nothing,
--                  cannot create anything (no CREATE on the schema, no TEMP).
--   ledger_reader  SELECT only: auditors, reports, `custody ledger verify`.
--
-- Run it as a superuser (or the database owner) on the `custody` database, once, with psql:
--
--   psql "postgresql://postgres@HOST/custody" -v ON_ERROR_STOP=1 \
--        -v owner_password="$OWNER_PW" -v app_password="$APP_PW" -v reader_password="$READER_PW" \
--        -f deploy/postgres/roles.sql
--
-- then `custody provision` with DATABASE_URL as ledger_owner (migrations only), or once as a
-- superuser, which also installs the guard (event triggers that stop even the owner from
-- disabling or dropping the record's triggers; only a superuser can create those).
-- Safe to re-run: it creates what is missing and (re)sets the passwords.

\set ON_ERROR_STOP on

SELECT 'CREATE ROLE ledger_owner LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_owner') \gexec
SELECT 'CREATE ROLE ledger_app LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_app') \gexec
SELECT 'CREATE ROLE ledger_reader LOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledger_reader') \gexec

ALTER ROLE ledger_owner LOGIN PASSWORD :'owner_password';
ALTER ROLE ledger_app LOGIN PASSWORD :'app_password';
ALTER ROLE ledger_reader LOGIN PASSWORD :'reader_password';

-- Nobody creates anything in this database but the owner, in public.
REVOKE CREATE, TEMPORARY ON DATABASE :"DBNAME" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME" TO ledger_owner, ledger_app, ledger_reader;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO ledger_owner;
GRANT USAGE ON SCHEMA public TO ledger_app, ledger_reader;
