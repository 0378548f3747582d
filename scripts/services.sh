# PostgreSQL and Mosquitto for the tests, sourced by scripts/test and scripts/with-services.
#
# `services_up` probes MACHI_TEST_PG (default postgres://postgres@127.0.0.1:5432) and MACHI_TEST_MQTT
# (default 127.0.0.1:1883). A service that answers is used as it is. One that does not is installed
# with apt-get when its programs are missing, then started as a throwaway instance on a free loopback
# port in a temporary directory; MACHI_TEST_PG / MACHI_TEST_MQTT are exported pointing at it.
# `services_down` stops what services_up started (by its process id) and removes its directory;
# the sourcing script calls it from its EXIT trap.

services_tmp=""
services_mqtt_pid=""
services_pg_data=""

# A TCP port on 127.0.0.1 that nothing listens on now.
services_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

services_pg_reachable() {
  PGCONNECT_TIMEOUT=5 psql "$1/postgres" -qtAc 'SELECT 1' >/dev/null 2>&1
}

services_tcp_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

services_apt_install() {
  echo "installing $*"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >/dev/null
}

# Run a command as the owner of the throwaway directory: PostgreSQL refuses to run as root. From
# that directory, as the postgres user may not be allowed into the clone.
services_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    (cd "$services_tmp" && runuser -u postgres -- "$@")
  else
    (cd "$services_tmp" && "$@")
  fi
}

services_dir() {
  if [ -z "$services_tmp" ]; then
    services_tmp="$(mktemp -d /tmp/machi-services.XXXXXX)"
    chmod 755 "$services_tmp"
  fi
}

services_start_postgres() {
  local bin started
  started=$(date +%s)
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    services_apt_install postgresql
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi
  services_dir
  services_pg_data="$services_tmp/pg"
  mkdir "$services_pg_data"
  [ "$(id -u)" = 0 ] && chown postgres: "$services_pg_data"
  local port
  port="$(services_free_port)"
  services_as_owner "$bin/initdb" -D "$services_pg_data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$services_tmp/initdb.log" 2>&1 || {
    cat "$services_tmp/initdb.log" >&2
    return 1
  }
  # A throwaway cluster: nothing in it must survive a crash, so it need not wait for the disk.
  services_as_owner "$bin/pg_ctl" -D "$services_pg_data" -l "$services_pg_data/server.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $services_pg_data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || {
    cat "$services_pg_data/server.log" >&2
    return 1
  }
  export MACHI_TEST_PG="postgres://postgres@127.0.0.1:$port"
  echo "PostgreSQL: started a throwaway instance at $MACHI_TEST_PG ($(($(date +%s) - started)) s)"
}

services_start_mosquitto() {
  local started
  started=$(date +%s)
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || services_apt_install mosquitto
  local bin
  bin="$(command -v mosquitto || echo /usr/sbin/mosquitto)"
  services_dir
  local port
  port="$(services_free_port)"
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" >"$services_tmp/mosquitto.conf"
  chmod 644 "$services_tmp/mosquitto.conf"
  "$bin" -c "$services_tmp/mosquitto.conf" >"$services_tmp/mosquitto.log" 2>&1 &
  services_mqtt_pid=$!
  for _ in $(seq 100); do
    services_tcp_open 127.0.0.1 "$port" && break
    kill -0 "$services_mqtt_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! services_tcp_open 127.0.0.1 "$port"; then
    cat "$services_tmp/mosquitto.log" >&2
    return 1
  fi
  export MACHI_TEST_MQTT="127.0.0.1:$port"
  echo "Mosquitto: started a throwaway broker at $MACHI_TEST_MQTT ($(($(date +%s) - started)) s)"
}

services_up() {
  local pg="${MACHI_TEST_PG:-postgres://postgres@127.0.0.1:5432}"
  local mqtt="${MACHI_TEST_MQTT:-127.0.0.1:1883}"
  # psql probes PostgreSQL and makes the test databases, whichever server answers.
  command -v psql >/dev/null 2>&1 || services_apt_install postgresql-client
  if services_pg_reachable "$pg"; then
    export MACHI_TEST_PG="$pg"
    echo "PostgreSQL: using $pg"
  else
    echo "PostgreSQL: nothing answers at $pg"
    services_start_postgres
    services_pg_reachable "$MACHI_TEST_PG" || {
      echo "FAILED: the throwaway PostgreSQL at $MACHI_TEST_PG does not answer" >&2
      return 1
    }
  fi
  if services_tcp_open "${mqtt%:*}" "${mqtt##*:}"; then
    export MACHI_TEST_MQTT="$mqtt"
    echo "Mosquitto: using $mqtt"
  else
    echo "Mosquitto: nothing answers at $mqtt"
    services_start_mosquitto
  fi
}

services_down() {
  if [ -n "$services_mqtt_pid" ]; then
    kill "$services_mqtt_pid" 2>/dev/null || true
    wait "$services_mqtt_pid" 2>/dev/null || true
    services_mqtt_pid=""
  fi
  if [ -n "$services_pg_data" ]; then
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    services_as_owner "$bin/pg_ctl" -D "$services_pg_data" -m immediate -w stop >/dev/null 2>&1 || true
    services_pg_data=""
  fi
  if [ -n "$services_tmp" ]; then
    rm -rf "$services_tmp"
    services_tmp=""
  fi
}
