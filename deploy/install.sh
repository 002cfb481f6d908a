#!/usr/bin/env bash
# Install, upgrade or roll back acd on a Debian host, exactly as docs/install.md says.
# Idempotent: run it again and nothing changes; it never overwrites a config or secret.
#
#   deploy/install.sh SOURCE              install SOURCE (a wheel acd-<v>-py3-none-any.whl,
#                                         or a checkout of the repository) as release <v>
#                                         and make it current
#   deploy/install.sh --rollback VERSION  make an installed release current again
#   options: --root DIR   install under DIR instead of / (tests, image builds); no systemctl
#            --version V  name the release V (default: the version of SOURCE)
#
# Layout: /opt/acd/releases/<v> (a virtualenv each), /opt/acd/current -> releases/<v>,
# /etc/acd/ (acd.toml, ami-secret, api-tokens, redis-password), the units acd.service
# and acd@.service in /etc/systemd/system, /etc/asterisk/acd/ (the dialplans, if Asterisk
# is installed).
# A release becomes current only if `acd check-config` of that release accepts
# /etc/acd/acd.toml (when it exists). The service is never (re)started here: the script
# ends by saying what to run.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
root=""
version=""
rollback=""
source=""
python=${PYTHON:-python3}
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=$(realpath -m "$2"); shift 2 ;;
    --version) version=$2; shift 2 ;;
    --rollback) rollback=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    *) source=$1; shift ;;
  esac
done

opt="$root/opt/acd"
etc="$root/etc/acd"
units="$root/etc/systemd/system"
say() { echo "install.sh: $*"; }

switch_to() {  # make releases/$1 current, atomically, once its acd accepts the config
  local release="$opt/releases/$1"
  [ -x "$release/bin/acd" ] || { echo "install.sh: no release $1 in $opt/releases" >&2; exit 1; }
  if [ -f "$etc/acd.toml" ]; then
    "$release/bin/acd" check-config "$etc/acd.toml" >&2 || {
      echo "install.sh: release $1 refuses $etc/acd.toml: current unchanged" >&2; exit 1; }
  fi
  ln -sfn "releases/$1" "$opt/current.new"
  mv -T "$opt/current.new" "$opt/current"
  say "current release: $1"
}

if [ -n "$rollback" ]; then
  switch_to "$rollback"
  [ -n "$root" ] || say "now: systemctl restart acd"
  exit 0
fi

[ -n "$source" ] || { echo "usage: install.sh [--root DIR] [--version V] SOURCE" >&2; exit 2; }
source=$(realpath "$source")
if [ -z "$version" ]; then
  if [ -d "$source" ]; then
    version=$("$python" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' "$source/pyproject.toml")
  else
    version=$(basename "$source" | cut -d- -f2)
  fi
fi

# 1. The release: a virtualenv of its own, never modified once made.
release="$opt/releases/$version"
if [ -x "$release/bin/acd" ]; then
  say "release $version already installed"
else
  # built under its final name (a virtualenv cannot be moved), removed if pip fails
  mkdir -p "$opt/releases"
  rm -rf "$release"
  "$python" -m venv "$release"
  "$release/bin/python" -m pip install --quiet ${ACD_PIP_OPTS:-} "$source" || {
    rm -rf "$release"; echo "install.sh: pip failed; nothing changed" >&2; exit 1; }
  say "installed release $version in $release"
fi

# 2. Config and secrets: created if missing, never overwritten.
install -d -m 0755 "$etc"
install -m 0644 "$repo/config/sas-small.toml" "$etc/acd.toml.example"
if [ ! -f "$etc/ami-secret" ]; then
  (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > "$etc/ami-secret")
  say "new AMI secret in $etc/ami-secret: give Asterisk the same (docs/install.md)"
fi
if [ ! -f "$etc/api-tokens" ]; then
  install -m 0600 /dev/null "$etc/api-tokens"
  say "empty $etc/api-tokens: the API answers 401 until tokens are added"
fi
if [ ! -f "$etc/redis-password" ]; then  # the units load it: it must exist, even empty
  install -m 0600 /dev/null "$etc/redis-password"
  say "empty $etc/redis-password: write the password there if [redis] needs one"
fi
chmod 0600 "$etc/ami-secret" "$etc/api-tokens" "$etc/redis-password"

# 3. The units, and the dialplans beside Asterisk's config.
install -d -m 0755 "$units"
install -m 0644 "$repo/deploy/systemd/acd.service" "$repo/deploy/systemd/acd@.service" "$units/"
if [ -d "$root/etc/asterisk" ]; then
  install -d -m 0755 "$root/etc/asterisk/acd"
  install -m 0644 "$repo"/dialplans/*.conf "$root/etc/asterisk/acd/"
fi

# 4. Current: the new release, if it accepts the config.
switch_to "$version"

if [ -z "$root" ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
fi
if [ ! -f "$etc/acd.toml" ]; then
  say "next: write $etc/acd.toml (see $etc/acd.toml.example and docs/config.md), then"
  say "      systemctl enable --now acd"
else
  say "next: systemctl restart acd   (or: systemctl enable --now acd, the first time)"
fi
