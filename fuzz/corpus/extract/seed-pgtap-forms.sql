\set ON_ERROR_STOP 1
\ir helpers/setup.sql
BEGIN;
SELECT plan(12);
SELECT has_table('app', 'users', 'users exists');
SELECT has_column('app'::name, 'users'::name, 'id'::name, 'id');
SELECT col_is_pk('app', 'users', ARRAY['id']);
SELECT results_eq($$SELECT 1$$, ARRAY[1]);
SELECT is(app.f(1), 2, format('f(%s)', 1));
SELECT throws_ok(E'SELECT 1/0', '22012');
SELECT policies_are('app', 'users', ARRAY['p1', 'p2']);
SELECT function_returns('app', 'f', ARRAY['integer'], 'integer');
SELECT has_function(:'schema', 'f' || :v);
-- SELECT has_table('commented');
/* SELECT hasnt_table('x'); */
CREATE FUNCTION test_x() RETURNS SETOF text LANGUAGE plpgsql AS $body$
BEGIN
  RETURN NEXT has_index('app', 'users', 'users_pkey');
  PERFORM ok(true);
END $body$;
DO $$ BEGIN PERFORM has_view('v'); END $$;
SELECT * FROM runtests('app'::name, '^test');
SELECT * FROM check_test(ok(true), true);
SELECT * FROM finish();
ROLLBACK;
