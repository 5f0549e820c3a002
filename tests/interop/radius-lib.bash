# Shared by radius-freeradius.sh and ikev2-eap.sh (sourced, not run: test.sh runs only tests/interop/*.sh): a minimal
# FreeRADIUS configuration of our own (one client 127.0.0.1, the users file DIR/users, the eap module with md5 and
# mschapv2, accounting to DIR/acct/detail), and starting freeradius -X on it.

# freeradius_conf DIR SECRET AUTH_PORT ACCT_PORT [DEFAULT_EAP_TYPE, default md5]: writes DIR/radiusd.conf.
freeradius_conf() {
  mkdir -p "$1/log" "$1/run" "$1/acct"
  cat >"$1/radiusd.conf" <<CONF
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = $1/log
raddbdir = $1
radacctdir = $1/acct
name = freeradius
confdir = $1
modconfdir = $1
run_dir = $1/run
db_dir = $1
libdir = /usr/lib/freeradius
pidfile = $1/run/radiusd.pid
max_request_time = 30
cleanup_delay = 5
max_requests = 1024
hostname_lookups = no
log {
  destination = files
  file = $1/log/radius.log
  auth = yes
}
security {
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = no
}
client oakley {
  ipaddr = 127.0.0.1
  secret = $2
  require_message_authenticator = yes
}
modules {
  files {
    filename = $1/users
  }
  eap {
    default_eap_type = ${5:-md5}
    timer_expire = 60
    ignore_unknown_eap_types = no
    max_sessions = 64
    md5 {
    }
    mschapv2 {
    }
  }
  mschap {
  }
  detail {
    filename = $1/acct/detail
    permissions = 0600
    header = "%t"
  }
}
server default {
  listen {
    type = auth
    ipaddr = 127.0.0.1
    port = $3
  }
  listen {
    type = acct
    ipaddr = 127.0.0.1
    port = $4
  }
  authorize {
    files
    eap
  }
  authenticate {
    eap
    Auth-Type MS-CHAP {
      mschap
    }
  }
  accounting {
    detail
  }
}
CONF
}

# start_freeradius DIR [NETNS]: starts freeradius -X on DIR (in NETNS if given), waits until it is ready; sets
# RADIUSD_STARTED to its PID (the caller stops it) and returns 1 if it did not come up (its output is DIR/radiusd.out).
start_freeradius() {
  if [[ -n ${2:-} ]]; then
    ip netns exec "$2" freeradius -X -d "$1" >"$1/radiusd.out" 2>&1 &
  else
    freeradius -X -d "$1" >"$1/radiusd.out" 2>&1 &
  fi
  RADIUSD_STARTED=$!
  for _ in $(seq 100); do
    grep -q "Ready to process requests" "$1/radiusd.out" && return 0
    kill -0 "$RADIUSD_STARTED" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
