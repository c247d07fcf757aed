#!/usr/bin/env bash
# CI's check of the container image, with no registry: build it (scripts/image.sh),
# check its size and contents, run it with podman, and use it like a person and a
# container platform would: /healthz, /livez, /readyz, the image's HEALTHCHECK, a
# nickname sign-in, the database in the volume, a non-root process, and a
# graceful `podman stop`. Any failure fails the run.
#
# Runs as root (CI does). Installs podman, buildah, runc and curl if missing.
# Images, containers and the volume live in a temporary vfs store, removed after.
set -euo pipefail
cd "$(dirname "$0")/.."

max_bytes=$((60 * 1000 * 1000))
tag=estimator:ci
name=estimator-ci-$$
volume=estimator-ci-data-$$

fail() { echo "image check FAILED: $*" >&2; exit 1; }

need=()
for c in podman buildah runc curl; do command -v "$c" >/dev/null 2>&1 || need+=("$c"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "--- installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman buildah runc curl >/dev/null
fi
podman --version
buildah --version

# A store of its own (vfs: no overlay needed), and this machine's container
# settings: no default ulimits (the kernel here refuses raising them).
work=$(mktemp -d /tmp/estimator-image-check.XXXXXX)
cat >"$work/storage.conf" <<CONF
[storage]
driver = "vfs"
runroot = "$work/run"
graphroot = "$work/graph"
CONF
printf '[containers]\ndefault_ulimits = []\n' >"$work/containers.conf"
export CONTAINERS_STORAGE_CONF="$work/storage.conf" CONTAINERS_CONF="$work/containers.conf"
pm() { podman --storage-driver vfs --runtime runc --cgroup-manager cgroupfs "$@"; }

cleanup() {
  set +e
  if pm container exists "$name" 2>/dev/null; then
    echo "--- container log (last 40 lines)"
    pm logs "$name" 2>&1 | tail -n 40
    pm rm -f -t 0 "$name" >/dev/null 2>&1
  fi
  pm volume rm -f "$volume" >/dev/null 2>&1
  pm rmi -f "$tag" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

bash scripts/image.sh "$tag"

echo "--- image"
size=$(pm image inspect --format '{{.Size}}' "$tag")
echo "size: $size bytes ($((size / 1000 / 1000)) MB; the bound is $((max_bytes / 1000 / 1000)) MB)"
[ "$size" -lt "$max_bytes" ] || fail "the image is $size bytes, over $max_bytes"
[ "$(pm image inspect --format '{{.Config.User}}' "$tag")" = "65532:65532" ] || fail "the image's user is not 65532:65532"
pm image inspect --format '{{.Config.Healthcheck.Test}}' "$tag" | grep -q 'healthcheck' || fail "the image has no HEALTHCHECK"
root=$(pm image mount "$tag")
for f in estimator etc/passwd etc/group etc/ssl/certs/ca-certificates.crt; do
  [ -s "$root/$f" ] || { pm image unmount "$tag" >/dev/null; fail "/$f missing from the image"; }
done
listing=$(cd "$root" && find . -mindepth 1 -maxdepth 1 | sort | tr '\n' ' ')
perms="$(stat -c '%U:%G %u:%g %a' "$root/data") / $(stat -c '%a' "$root/tmp")"
pm image unmount "$tag" >/dev/null
echo "root: $listing; /data and /tmp: $perms"
[ "$listing" = "./data ./estimator ./etc ./tmp " ] || fail "unexpected files at the image's root (a shell?): $listing"
case "$perms" in *" 65532:65532 "*" / 1777") ;; *) fail "/data is not the estimator user's or /tmp is not 1777: $perms" ;; esac

echo "--- estimator --version"
version=$(pm run --rm --network host --no-healthcheck "$tag" --version)
echo "$version"
echo "$version" | grep -q "^go:       go" || fail "--version does not name the Go release"
if [ -d .git ]; then
  # Built from a clone (CI's case): the commit is stamped into the build info.
  head=$(git rev-parse HEAD)
  echo "$version" | grep -q "^commit:   $head\$" || fail "--version does not give the commit $head"
fi

# A free port on loopback: nothing answers there.
port=
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free port found"
base="http://127.0.0.1:$port"

echo "--- podman run (host network, $base, volume $volume)"
pm volume create "$volume" >/dev/null
# --health-interval disable: there is no systemd here to time the HEALTHCHECK
# (podman 4.3 still logs that it cannot reach it: harmless); it is run by hand
# below.
pm run -d --name "$name" --network host --health-interval disable \
  -e "ESTIMATOR_ADDR=127.0.0.1:$port" -e ESTIMATOR_LOG_FORMAT=json \
  -v "$volume:/data" "$tag" >/dev/null
up=
for _ in $(seq 1 120); do
  if curl -fsS -o /dev/null --max-time 2 "$base/healthz" 2>/dev/null; then up=1; break; fi
  [ "$(pm inspect --format '{{.State.Running}}' "$name")" = true ] || fail "the container exited before serving"
  sleep 0.5
done
[ -n "$up" ] || fail "/healthz did not answer 200 within 60s"
for path in /healthz /livez /readyz; do
  body=$(curl -fsS --max-time 5 "$base$path") || fail "GET $path"
  [ "$body" = ok ] || fail "GET $path: $body"
done
echo "/healthz, /livez, /readyz: 200 ok"
pm healthcheck run "$name" || fail "the image's HEALTHCHECK (estimator healthcheck) did not pass"
echo "HEALTHCHECK: healthy"

echo "--- nickname sign-in"
jar="$work/cookies"
nick="Container check $$"
status=$(curl -sS -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" "$base/login")
[ "$status" = 200 ] || fail "GET /login: $status"
# What a browser sends for a form on the page it came from (the app refuses
# cross-site posts).
read -r status location < <(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}\n' -c "$jar" -b "$jar" \
  -H 'Sec-Fetch-Site: same-origin' -H "Origin: $base" --data-urlencode "nickname=$nick" "$base/login")
[ "$status" = 303 ] || fail "POST /login: $status"
echo "POST /login: 303 to $location"
page=$(curl -fsS -b "$jar" "$base/") || fail "GET / after sign-in"
echo "$page" | grep -q 'data-testid="nav-signout"' || fail "GET / after sign-in does not offer to sign out: not signed in"
echo "$page" | grep -qF "$nick" || fail "GET / after sign-in does not name $nick"
echo "signed in as $nick"

echo "--- process and volume"
pid=$(pm inspect --format '{{.State.Pid}}' "$name")
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
gids=$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
echo "uids $uids, gids $gids"
[ "$uids" = "65532 65532 65532 65532" ] && [ "$gids" = "65532 65532 65532 65532" ] || fail "the server does not run as 65532 (uids $uids, gids $gids)"
data=$(pm volume inspect --format '{{.Mountpoint}}' "$volume")
[ -s "$data/estimator.db" ] || fail "no estimator.db in the volume ($data: $(ls -A "$data"))"
[ "$(stat -c %u "$data/estimator.db")" = 65532 ] || fail "estimator.db does not belong to 65532"
echo "volume: $(cd "$data" && ls -A | tr '\n' ' ')"

echo "--- podman stop (SIGTERM, SIGKILL after 10s)"
start=$(date +%s%N)
pm stop -t 10 "$name" >/dev/null
took_ms=$((($(date +%s%N) - start) / 1000000))
code=$(pm inspect --format '{{.State.ExitCode}}' "$name")
echo "stopped in ${took_ms} ms, exit code $code"
[ "$code" = 0 ] || fail "exit code $code after podman stop, want 0 (a graceful shutdown)"
[ "$took_ms" -lt 10000 ] || fail "podman stop took ${took_ms} ms: the graceful shutdown did not finish within 10 s"
logs=$(pm logs "$name" 2>&1)
echo "$logs" | grep -q '"msg":"stopped"' || fail "no \"stopped\" line in the log"
if bad=$(echo "$logs" | grep -v '^{"time":"'); then
  fail "log lines that are not JSON objects: $bad"
fi
echo "log: $(echo "$logs" | wc -l) JSON lines, the last: $(echo "$logs" | tail -n 1)"
echo "image check passed"
