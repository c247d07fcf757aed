#!/usr/bin/env bash
# Build the container image with no registry: a static binary, a small root file
# system prepared here, and Containerfile's `FROM scratch`.
#
#   scripts/image.sh [NAME:TAG]        default estimator:dev
#
# BUILDER=buildah|podman|docker picks the tool (default: the first found, in
# that order). The context is left in build/image/ for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-estimator:dev}
ctx=build/image
uid=65532

rm -rf "$ctx"
mkdir -p "$ctx/rootfs/etc/ssl/certs" "$ctx/rootfs/tmp" "$ctx/data"

# -buildvcs=auto stamps the commit into the build info (--version) when built
# from a git clone, overriding a GOFLAGS=-buildvcs=false. (Go does not find the
# repository from a git worktree: there --version says the commit is unknown.)
echo "--- go build (static)"
CGO_ENABLED=0 go build -buildvcs=auto -trimpath -ldflags='-s -w' -o "$ctx/estimator" ./cmd/estimator

certs=/etc/ssl/certs/ca-certificates.crt
if [ ! -s "$certs" ]; then
  echo "--- installing ca-certificates (Debian) for $certs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq ca-certificates >/dev/null
fi
cp "$certs" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'estimator:x:%d:%d:Estimator:/data:/sbin/nologin\n' "$uid" "$uid" >"$ctx/rootfs/etc/passwd"
printf 'estimator:x:%d:\n' "$uid" >"$ctx/rootfs/etc/group"
chmod 0644 "$ctx/rootfs/etc/passwd" "$ctx/rootfs/etc/group"
chmod 1777 "$ctx/rootfs/tmp"
chmod 0700 "$ctx/data"

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
builder=${BUILDER:-}
if [ -z "$builder" ]; then
  for b in buildah podman docker; do
    if command -v "$b" >/dev/null 2>&1; then builder=$b; break; fi
  done
fi
echo "--- $builder: $tag"
case "$builder" in
  buildah) buildah bud --format docker --build-arg "REVISION=$revision" -f Containerfile -t "$tag" "$ctx" ;;
  podman) podman build --format docker --build-arg "REVISION=$revision" -f Containerfile -t "$tag" "$ctx" ;;
  docker) docker build --build-arg "REVISION=$revision" -f Containerfile -t "$tag" "$ctx" ;;
  *) echo "no buildah, podman or docker found: apt-get install -y buildah (or set BUILDER)" >&2; exit 1 ;;
esac
