# PostgreSQL for the test suite's second run (sourced by .ci/run, which defines apt_need and
# on_exit). Installs Debian's PostgreSQL, creates a throwaway cluster in a temporary
# directory, starts it on loopback on a free port and exports OPENBATCH_TEST_DATABASE_URL;
# `npm test` then runs the suite on SQLite and again on PostgreSQL, each test server in a
# database of its own (test/helpers/postgres.ts). The cluster is stopped and removed on exit.
#
# The cluster uses the C locale so text sorts bytewise, as SQLite sorts it.
apt_need postgresql

pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_dir=$(mktemp -d)
chown postgres: "$pg_dir"
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pg_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
echo "$pg_password" > "$pg_dir/pw" && chown postgres: "$pg_dir/pw"
# initdb and postgres refuse to run as root: the cluster belongs to the postgres user.
runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -U openbatch --pwfile="$pg_dir/pw" -A scram-sha-256 --locale=C -E UTF8 >/dev/null
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$pg_dir -c max_connections=300 -c fsync=off" start >/dev/null
on_exit "runuser -u postgres -- '$pg_bin/pg_ctl' -D '$pg_dir/data' -m immediate stop >/dev/null; rm -rf '$pg_dir'"
export OPENBATCH_TEST_DATABASE_URL="postgres://openbatch:$pg_password@127.0.0.1:$pg_port/postgres"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"
