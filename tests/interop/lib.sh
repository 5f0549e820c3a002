# Shared by the interop scripts and bench/tunnel-throughput.sh (sourced, not run; test.sh skips it).
# strongSwan runs as charon itself (no starter) inside a network namespace, with kernel-libipsec for its
# userspace ESP (the kernel here has no ESP) and its own /run bind-mounted from DIR/run.

# strongswan_conf DIR: prints strongswan.conf for a charon whose files live in DIR (log DIR/charon.log,
# vici socket DIR/run/charon.vici).
strongswan_conf() {
  cat <<CONF
charon {
  load_modular = no
  load = random nonce openssl aes sha1 sha2 md5 hmac gcm chapoly kdf pem pkcs1 pkcs8 pubkey x509 revocation constraints curve25519 kernel-libipsec kernel-netlink socket-default vici updown counters eap-identity eap-md5 eap-mschapv2 eap-gtc eap-tls eap-radius
  install_routes = yes
  filelog {
    log {
      path = $1/charon.log
      time_format = %b %e %T
      ike_name = yes
      append = no
      flush_line = yes
      default = 1
    }
  }
  plugins {
    vici {
      socket = unix://$1/run/charon.vici
    }
    kernel-libipsec {
      allow_peer_ts = no
    }
  }
}
CONF
}

# launch_charon NS DIR: writes DIR/strongswan.conf, starts charon in NS and waits for its vici socket.
# Sets CHARON_STARTED to charon's PID (the caller owns it and must stop it); returns 1 if vici never appeared.
launch_charon() {
  mkdir -p "$2/swanctl" "$2/run"
  rm -f "$2/run/charon.vici" # a socket left by a killed charon would look ready before the new one is
  strongswan_conf "$2" >"$2/strongswan.conf"
  ip netns exec "$1" env STRONGSWAN_CONF="$2/strongswan.conf" sh -c "mount --bind '$2/run' /run && exec /usr/lib/ipsec/charon" >"$2/charon.out" 2>&1 &
  CHARON_STARTED=$!
  for _ in $(seq 100); do [[ -S $2/run/charon.vici ]] && return 0; sleep 0.1; done
  return 1
}

# swanctl_in NS DIR ARGS...: runs swanctl against the charon of launch_charon NS DIR.
swanctl_in() {
  local ns=$1 dir=$2
  shift 2
  ip netns exec "$ns" env SWANCTL_DIR="$dir/swanctl" swanctl "$@" --uri "unix://$dir/run/charon.vici"
}

# make_pair NA NB IFA IFB: two network namespaces joined by a veth (IFA in NA, IFB in NB) with the addresses the
# scripts share: 192.0.2.1/24 and 192.0.2.2/24 on the link, 198.51.100.1 and 203.0.113.1 on the loopbacks as the
# inner (tunnelled) hosts. Returns 1 if the namespaces cannot be created.
make_pair() {
  ip netns add "$1" && ip netns add "$2" || return 1
  ip link add "$3" type veth peer name "$4"
  ip link set "$3" netns "$1"; ip link set "$4" netns "$2"
  ip -n "$1" link set lo up; ip -n "$2" link set lo up
  ip -n "$1" addr add 192.0.2.1/24 dev "$3"; ip -n "$2" addr add 192.0.2.2/24 dev "$4"
  ip -n "$1" addr add 198.51.100.1/32 dev lo; ip -n "$2" addr add 203.0.113.1/32 dev lo
  ip -n "$1" link set "$3" up; ip -n "$2" link set "$4" up
}

# psk_conf LOCAL_ADDRS REMOTE_ADDRS LOCAL_ID REMOTE_ID LOCAL_TS REMOTE_TS SECRET [CONNECTION_KEYS] [CHILD_KEYS]: prints a
# swanctl.conf with one IKEv2 connection "tunnel" (PSK both ways) with one child "net", and SECRET for the identities
# a.example and b.example. CONNECTION_KEYS and CHILD_KEYS are extra "key = value" lines (one per line) for the
# connection and the child; proposals and esp_proposals default to aes256gcm16-prfsha256-x25519 and aes256gcm16.
psk_conf() {
  local conn=${8:-} child=${9:-}
  [[ $conn == *proposals* ]] || conn+=$'\n'"proposals = aes256gcm16-prfsha256-x25519"
  [[ $child == *esp_proposals* ]] || child+=$'\n'"esp_proposals = aes256gcm16"
  cat <<CONF
connections {
  tunnel {
    version = 2
    local_addrs = $1
    remote_addrs = $2
$(sed '/^$/d; s/^/    /' <<<"$conn")
    local {
      auth = psk
      id = $3
    }
    remote {
      auth = psk
      id = $4
    }
    children {
      net {
        local_ts = $5
        remote_ts = $6
$(sed '/^$/d; s/^/        /' <<<"$child")
      }
    }
  }
}
secrets {
  ike {
    id-a = a.example
    id-b = b.example
    secret = "$7"
  }
}
CONF
}
