#!/usr/bin/env bash
# Builds the Debian package of Oakley with dpkg-deb and prints the path of the .deb as its last line.
# Usage: packaging/build-deb.sh [PUBLISH_DIR]
#   PUBLISH_DIR: a NativeAOT publish of src/Oakley.Cli (the oakley executable and libsodium.so). Without it the
#   daemon is published into artifacts/native (`dotnet publish src/Oakley.Cli -c Release -r linux-x64`).
# Output: artifacts/deb/oakley_VERSION_amd64.deb. Needs dpkg-deb, objdump (binutils), dpkg -S (a Debian build host:
# the dependencies are the Debian packages that hold the libraries the executable links), gzip and, without
# PUBLISH_DIR, the .NET SDK with clang (NativeAOT).
# The version comes from one place, <Version> in src/Oakley.Cli/Oakley.Cli.csproj; the Debian revision is -1.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PKG=$ROOT/packaging
die() { echo "build-deb.sh: $*" >&2; exit 1; }
for tool in dpkg-deb objdump dpkg gzip sed; do command -v "$tool" >/dev/null || die "$tool is missing"; done

UPSTREAM=$(sed -n 's:.*<Version>\([^<]*\)</Version>.*:\1:p' "$ROOT/src/Oakley.Cli/Oakley.Cli.csproj" | sed -n 1p)
[[ $UPSTREAM =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no <Version>N.N.N</Version> in src/Oakley.Cli/Oakley.Cli.csproj"
VERSION=$UPSTREAM-1

PUBLISH=${1:-}
if [[ -z $PUBLISH ]]; then
  PUBLISH=$ROOT/artifacts/native
  echo "build-deb.sh: publishing the native daemon into $PUBLISH" >&2
  dotnet publish "$ROOT/src/Oakley.Cli" -c Release -r linux-x64 -o "$PUBLISH" -nologo -v:q -clp:ErrorsOnly >&2 \
    || die "dotnet publish failed"
fi
[[ -x $PUBLISH/oakley && -f $PUBLISH/libsodium.so ]] || die "$PUBLISH holds no NativeAOT publish (oakley and libsodium.so)"
# A publish of other sources (an old artifacts/native) must not be packaged under this version.
reported=$("$PUBLISH/oakley" --version) || die "$PUBLISH/oakley --version failed"
[[ $reported == "$UPSTREAM" || $reported == "$UPSTREAM+"* ]] \
  || die "$PUBLISH/oakley is version $reported, the sources say $UPSTREAM: publish again"

# Reproducible: file dates and the changelog's date are the commit's (dpkg-deb reads SOURCE_DATE_EPOCH too).
if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
  SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
COMMIT=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

OUT=$ROOT/artifacts/deb
STAGE=$OUT/stage
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$OUT"
umask 022

# ---- the files ----
# The executable finds libsodium.so in its own directory (NSec's DllImport resolves against the real path of the
# executable, through /proc/self/exe), so both live in /usr/lib/oakley and /usr/sbin/oakley is a symlink to it.
install -d "$STAGE/usr/lib/oakley" "$STAGE/usr/sbin"
install -m 0755 "$PUBLISH/oakley" "$STAGE/usr/lib/oakley/oakley"
install -m 0644 "$PUBLISH/libsodium.so" "$STAGE/usr/lib/oakley/libsodium.so"
ln -s ../lib/oakley/oakley "$STAGE/usr/sbin/oakley"
# The unit as packaging/oakley.service has it (maintained with the systemd integration, not here).
install -D -m 0644 "$PKG/oakley.service" "$STAGE/lib/systemd/system/oakley.service"
# /etc/swanctl/swanctl.conf is strongswan-swanctl's configuration file (it includes conf.d/*.conf): Oakley only adds
# a commented example next to it, so both packages install side by side (docs/operations.md).
install -D -m 0644 "$PKG/swanctl/oakley-example.conf" "$STAGE/etc/swanctl/conf.d/oakley-example.conf"
for page in oakley oakley-daemon; do
  install -d "$STAGE/usr/share/man/man8"
  sed "s/@VERSION@/$UPSTREAM/" "$PKG/man/$page.8" | gzip -9n >"$STAGE/usr/share/man/man8/$page.8.gz"
done
install -D -m 0644 "$PKG/debian/copyright" "$STAGE/usr/share/doc/oakley/copyright"
{
  echo "oakley ($VERSION) unstable; urgency=medium"
  echo
  echo "  * Oakley $UPSTREAM, built from commit $COMMIT of the Oakley repository."
  echo
  echo " -- Oakley maintainers <oakley@example.org>  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$STAGE/usr/share/doc/oakley/changelog.Debian.gz"

# ---- the dependencies: the Debian packages of the libraries the ELF files link, with the glibc version they need ----
depends=()
add_dep() { local d; for d in "${depends[@]}"; do [[ $d == "$1" || $d == "$1 "* ]] && return; done; depends+=("$1"); }
glibc=0
for elf in "$STAGE/usr/lib/oakley/oakley" "$STAGE/usr/lib/oakley/libsodium.so"; do
  for lib in $(objdump -p "$elf" | awk '$1 == "NEEDED" {print $2}'); do
    # (every reader below reads to the end: one that stops early, e.g. awk's exit or head, can SIGPIPE the writer,
    # which pipefail and set -e turn into a failed build now and then)
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !found {print $NF; found = 1}')
    [[ -n $path ]] || die "$(basename "$elf") needs $lib, which this host does not have"
    owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | sed -n 1p | cut -d: -f1) \
      || owner=$(dpkg -S "$path" 2>/dev/null | sed -n 1p | cut -d: -f1) || die "no Debian package holds $path"
    [[ -n $owner ]] || die "no Debian package holds $path"
    add_dep "$owner"
  done
  # the newest GLIBC_x.y symbol version any of them asks for is the libc6 version it needs
  v=$(objdump -T "$elf" | grep -oE 'GLIBC_[0-9]+\.[0-9]+' | sed 's/GLIBC_//' | sort -V | tail -1)
  [[ -n $v ]] && glibc=$(printf '%s\n%s\n' "$glibc" "$v" | sort -V | tail -1)
done
for i in "${!depends[@]}"; do [[ ${depends[$i]} == libc6 ]] && depends[$i]="libc6 (>= $glibc)"; done
# What the unit runs besides Oakley (ExecReload=/bin/kill today: procps, which a minbase system lacks; found by running
# the unit under systemd in tests/interop/deb-install.sh): the package that holds each command.
for exe in $(sed -nE 's/^Exec[A-Za-z]*=[-@:+!]*([^ ]+).*/\1/p' "$PKG/oakley.service" | sort -u); do
  [[ $exe == /usr/sbin/oakley ]] && continue
  [[ $exe == /* ]] || die "oakley.service runs $exe: give it as an absolute path, so that its package is known"
  owner=$(dpkg -S "$exe" 2>/dev/null | sed -n 1p | cut -d: -f1)
  [[ -n $owner ]] || die "no Debian package holds $exe, which oakley.service runs"
  add_dep "$owner"
done
# Loaded with dlopen, so no NEEDED entry: the BCL's cryptography (AES, SHA-2, ECDH, RSA, X.509) binds libssl.so.3
# and libcrypto.so.3 at run time.
add_dep "libssl3 (>= 3.0.0)"
# The packaged service reads /etc/swanctl/swanctl.conf, a configuration file of strongswan-swanctl (which depends on
# no charon): depending on it gives that file an owner, so nothing here has to create it (docs/operations.md).
add_dep "strongswan-swanctl"
DEPENDS=$(IFS=,; echo "${depends[*]}" | sed 's/,/, /g')

# ---- control files ----
size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@INSTALLED_SIZE@/$size/" -e "s/@DEPENDS@/$DEPENDS/" \
  "$PKG/debian/control" >"$STAGE/DEBIAN/control"
echo /etc/swanctl/conf.d/oakley-example.conf >"$STAGE/DEBIAN/conffiles"
for script in postinst prerm postrm; do install -m 0755 "$PKG/debian/$script" "$STAGE/DEBIAN/$script"; done
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
  >"$STAGE/DEBIAN/md5sums"
find "$STAGE" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

DEB=$OUT/oakley_${VERSION}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >&2
rm -rf "$STAGE"
echo "build-deb.sh: Depends: $DEPENDS" >&2
echo "$DEB"
