#!/usr/bin/env bash
# Fetch a real Linux kernel source tree for lockpath's real-kernel tests and
# for `ci/check-kernel.sh`.  Prints the tree's path on stdout (nothing else);
# progress goes to stderr.
#
#   ci/fetch-kernel.sh          # 6.12 (default)
#   ci/fetch-kernel.sh 6.1      # another Debian linux-source-VER
#
# With LOCKPATH_KERNEL set to a tree (a directory holding MAINTAINERS), the
# 6.12 request prints that tree instead: a tree you already have, used by
# every script that calls this one.
#
# Source: Debian's linux-source-VER package, which ships
# /usr/src/linux-source-VER.tar.xz.  When that tarball is missing the package
# is installed with apt-get (needs root, or password-less sudo).
#
# The tree is unpacked to $LOCKPATH_KERNEL_CACHE/linux-source-VER
# (default cache: $HOME/.cache/kernels) and reused when already there.
# Unpacking goes to a temporary directory inside the cache and is moved into
# place only when complete, so an interrupted run never leaves a half tree.
set -euo pipefail

ver="${1:-6.12}"
case "$ver" in
    ''|*[!0-9.]*) echo "fetch-kernel: bad version '$ver' (want e.g. 6.12)" >&2; exit 2 ;;
esac

pkg="linux-source-$ver"
cache="${LOCKPATH_KERNEL_CACHE:-$HOME/.cache/kernels}"
tree="$cache/$pkg"
tarball="/usr/src/$pkg.tar.xz"

log() { echo "fetch-kernel: $*" >&2; }

if [ "$ver" = 6.12 ] && [ -n "${LOCKPATH_KERNEL:-}" ] && [ -f "$LOCKPATH_KERNEL/MAINTAINERS" ]; then
    echo "$LOCKPATH_KERNEL"
    exit 0
fi

if [ -f "$tree/MAINTAINERS" ]; then
    log "reusing $tree"
    echo "$tree"
    exit 0
fi

# Run a command as root: directly when we are root, else through sudo -n.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n "$@"
    else
        log "need root (or password-less sudo) to run: $*"
        return 1
    fi
}

# apt-get install, non-interactive, output to stderr.
apt_install() {
    command -v apt-get >/dev/null 2>&1 || {
        log "apt-get not found: install $* by hand (Debian/Ubuntu package names)"
        return 1
    }
    log "installing $* with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >&2
}

if [ ! -f "$tarball" ]; then
    apt_install "$pkg"
    [ -f "$tarball" ] || { log "$pkg installed but $tarball is missing"; exit 1; }
fi

# The package depends on xz-utils, but the tarball may have been put there
# some other way.
if ! command -v xz >/dev/null 2>&1; then
    apt_install xz-utils
fi

mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.unpack-$ver.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

log "unpacking $tarball into $cache (takes a minute)"
tar -xJf "$tarball" -C "$tmp"
[ -f "$tmp/$pkg/MAINTAINERS" ] || { log "$tarball has no $pkg/MAINTAINERS"; exit 1; }

# Another run may have finished first; keep its tree.
if [ -f "$tree/MAINTAINERS" ]; then
    log "another run unpacked $tree meanwhile; reusing it"
else
    rm -rf "$tree"      # a leftover without MAINTAINERS is not a tree
    mv "$tmp/$pkg" "$tree"
fi
log "kernel tree ready: $tree"
echo "$tree"
