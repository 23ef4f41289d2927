#!/usr/bin/env bash
# Prepares this machine for `make deploy` and `make test`: Debian packages, the Docker engine, the
# project venv, the RIE, the wheelhouse, the base image and checkov. Idempotent: every step checks
# first and does nothing when its inputs are unchanged, so a second run takes a few seconds.
# Runs as root on Debian bookworm (apt-get, dockerd, debootstrap all need it).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${LAMBDA_INFERENCE_STATE:-$ROOT/.state}"
VENV="$ROOT/.venv"
CHECKOV_VERSION="3.3.30"
CHECKOV_VENV="$STATE/tools/checkov"
APT_PACKAGES=(docker.io debootstrap docker-registry)
DOCKERD_WAIT_SECONDS="${DOCKERD_WAIT_SECONDS:-60}"
STARTED=$SECONDS

say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

mkdir -p "$STATE/services" "$STATE/tools"
# One setup at a time: engineers and CI may start it together; the second waits for the first.
exec 9>"$STATE/setup.lock"
flock 9

# A Python 3.11 that can make venvs (pyenv's, or Debian's with python3-venv).
find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [[ -n "$candidate" ]] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

install_packages() {
    local missing=() package
    for package in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
    done
    local python
    python="$(find_python || true)"
    if [[ -z "$python" ]]; then
        missing+=(python3 python3-venv)
    elif ! "$python" -c 'import ensurepip' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    if ((${#missing[@]} == 0)); then
        say "Debian packages present (${APT_PACKAGES[*]})"
        return
    fi
    ((EUID == 0)) || die "Debian packages missing (${missing[*]}); run scripts/setup.sh as root"
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Update the package lists only when there are none, or when the install fails on stale ones.
    if ! compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null; then
        apt-get update -q
    fi
    apt-get install -y -q "${missing[@]}" || { apt-get update -q && apt-get install -y -q "${missing[@]}"; }
}

docker_answers() { timeout 15 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# The engine is machine infrastructure, like a system service: started here when nothing answers,
# recorded in .state/services/dockerd.{pid,log}, and left running (`make local-down` stops only
# what the local cloud itself started).
start_dockerd() {
    if docker_answers; then
        say "Docker engine running"
        return
    fi
    if [[ -n "${DOCKER_HOST:-}" ]]; then
        die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"
    fi
    local pidfile="$STATE/services/dockerd.pid" log="$STATE/services/dockerd.log" pid=""
    [[ -f "$pidfile" ]] && pid="$(cat "$pidfile")"
    if [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]]; then
        say "dockerd (pid $pid) is starting; waiting"
    else
        say "starting dockerd (log: $log)"
        printf '\n=== %s starting: dockerd (scripts/setup.sh)\n' "$(date '+%F %T')" >>"$log"
        # setsid: the engine outlives this script and the make that ran it; 9>&-: not our lock.
        setsid dockerd >>"$log" 2>&1 </dev/null 9>&- &
        pid=$!
        echo "$pid" >"$pidfile"
    fi
    local waited=0
    until docker_answers; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            die "dockerd exited at start; its log is $log"
        fi
        if ((waited >= DOCKERD_WAIT_SECONDS)); then
            tail -n 20 "$log" >&2 || true
            die "dockerd did not answer on /var/run/docker.sock within ${DOCKERD_WAIT_SECONDS}s (DOCKERD_WAIT_SECONDS raises it)"
        fi
        sleep 1
        waited=$((waited + 1))
    done
    say "Docker engine up after ${waited}s (pid $pid)"
}

# pip without this machine's noise about configured extra indexes that lack a package.
pip_install() {
    "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

inputs_hash() { cat "$@" | sha256sum | cut -d' ' -f1; }

make_venv() {
    local python stamp="$VENV/.setup-inputs.sha256" wanted
    python="$(find_python)" || die "no Python 3.11 found (set PYTHON=/path/to/python3.11)"
    wanted="$(inputs_hash "$ROOT/requirements/dev.txt" "$ROOT"/function/requirements/*.txt "$ROOT/pyproject.toml")"
    if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        say "venv up to date ($VENV)"
        return
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        say "creating venv $VENV with $python"
        "$python" -m venv "$VENV"
    fi
    say "installing requirements/dev.txt and the project into $VENV"
    pip_install "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/requirements/dev.txt"
    pip_install "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$ROOT"
    echo "$wanted" >"$stamp"
}

prepare_images() {
    # The RIE, the wheelhouse (when function/requirements/ changed) and the base image.
    (cd "$ROOT" && "$VENV/bin/python" -m harness.images.prepare)
}

install_checkov() {
    # Its own venv: checkov's pins clash with the project's.
    local stamp="$CHECKOV_VENV/.version" python
    if [[ -x "$CHECKOV_VENV/bin/checkov" && -f "$stamp" && "$(cat "$stamp")" == "$CHECKOV_VERSION" ]]; then
        say "checkov $CHECKOV_VERSION present"
        return
    fi
    python="$(find_python)" || die "no Python 3.11 found for checkov"
    say "installing checkov $CHECKOV_VERSION into $CHECKOV_VENV"
    rm -rf "$CHECKOV_VENV"
    "$python" -m venv "$CHECKOV_VENV"
    pip_install "$CHECKOV_VENV/bin/python" -m pip install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
    echo "$CHECKOV_VERSION" >"$stamp"
}

install_packages
start_dockerd
make_venv
prepare_images
install_checkov
say "done in $((SECONDS - STARTED))s"
