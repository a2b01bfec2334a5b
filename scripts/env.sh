# Sourced by the other scripts: finds or prepares the toolchain and exports what builds need.
#
# Two cases:
#   rustup  - a normal machine: `rustup target add wasm32-unknown-unknown` works.
#   debian  - an offline machine that reaches only package registries: Debian's rustc-web
#             (linked as the rustup toolchain "debian") builds std for wasm from source
#             (-Zbuild-std), linked by lld-19's wasm-ld.
# Everything installed goes to $CALENTO_CACHE (default ~/.cache/calento), outside the clone.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CALENTO_CACHE="${CALENTO_CACHE:-$HOME/.cache/calento}"
TOOLS="$CALENTO_CACHE/tools"
NPM_TOOLS="$CALENTO_CACHE/npm"
export PATH="$TOOLS/bin:$NPM_TOOLS/node_modules/.bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
# Built sites: release (what scripts/run serves) and debug (what the tests serve) apart,
# so running the tests never changes the files under a running release server.
site_root() { if [ "$1" = release ]; then echo "$ROOT/target/site"; else echo "$ROOT/target/site-debug"; fi; }
mkdir -p "$TOOLS" "$NPM_TOOLS"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "need root to run: $*" >&2; return 1; fi
}

APT_UPDATED=""
apt_install() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    # A transient "cannot access archive" failure has been seen; one repair and retry fixes it.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
        { as_root apt-get install -f -y -qq >/dev/null; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
}

# Which case are we in? Remembered in the cache so the probe runs once per machine.
detect_mode() {
    if [ -n "${CALENTO_TOOLCHAIN:-}" ]; then echo "$CALENTO_TOOLCHAIN"; return; fi
    if [ -f "$CALENTO_CACHE/toolchain-mode" ]; then cat "$CALENTO_CACHE/toolchain-mode"; return; fi
    local mode=debian
    if command -v rustup >/dev/null; then
        if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
            mode=rustup
        else
            say "checking whether rustup can download the wasm32 target (45 s at most)"
            if timeout 45 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then mode=rustup; fi
        fi
    fi
    echo "$mode" > "$CALENTO_CACHE/toolchain-mode"
    echo "$mode"
}

MODE="$(detect_mode)"
WASM_BUILD_STD=()
if [ "$MODE" = debian ]; then
    apt_install rustc-web cargo-web rust-web-src lld-19
    if command -v rustup >/dev/null; then
        rustup toolchain list | grep -q '^debian' || { say "linking Debian's rustc as the rustup toolchain 'debian'"; rustup toolchain link debian /usr; }
        export RUSTUP_TOOLCHAIN=debian
    fi
    # std for wasm is built from rust-web-src: a nightly feature, enabled on the stable compiler.
    export RUSTC_BOOTSTRAP=1
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/lib/llvm-19/bin/wasm-ld
    WASM_BUILD_STD=(-Zbuild-std=std,panic_abort)
fi

# The wasm-bindgen CLI must be exactly the version in Cargo.lock.
wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

ensure_wasm_bindgen() {
    local want; want="$(wasm_bindgen_version)"
    if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
        say "installing wasm-bindgen-cli $want into $TOOLS (a few minutes, once per machine)"
        cargo install wasm-bindgen-cli --version "$want" --root "$TOOLS" --quiet
    fi
}

# oha (crates.io): HTTP load at a fixed rate with latency correction (wrk2's way of not
# hiding queueing: latency counted from when a request was due), for scripts/bench --load.
OHA_VERSION=1.16.0
ensure_oha() {
    if [ "$(oha --version 2>/dev/null | awk '{print $2}')" != "$OHA_VERSION" ]; then
        say "installing oha $OHA_VERSION into $TOOLS (a few minutes, once per machine)"
        CARGO_TARGET_DIR="$CALENTO_CACHE/tools-build" cargo install oha --version "$OHA_VERSION" --locked --root "$TOOLS" --quiet
    fi
}

# The splitter for the lazily loaded pages (scripts/wasm-split, the project's own small
# tool around the library cargo-leptos uses): reinstalled when its source changes.
ensure_wasm_split() {
    local stamp
    stamp="$(find "$ROOT/scripts/wasm-split" -path "$ROOT/scripts/wasm-split/target" -prune -o -type f -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)"
    if [ "$(cat "$TOOLS/calento-wasm-split.stamp" 2>/dev/null)" != "$stamp" ] || ! command -v calento-wasm-split >/dev/null; then
        say "installing calento-wasm-split into $TOOLS (a minute or two, once per change)"
        CARGO_TARGET_DIR="$CALENTO_CACHE/tools-build" cargo install --locked --quiet --force \
            --path "$ROOT/scripts/wasm-split" --root "$TOOLS"
        echo "$stamp" > "$TOOLS/calento-wasm-split.stamp"
    fi
}

# npm's binaryen: Debian's wasm-opt (108) corrupts wasm-bindgen's output.
ensure_wasm_opt() {
    if [ ! -x "$NPM_TOOLS/node_modules/.bin/wasm-opt" ]; then
        say "installing wasm-opt (npm binaryen@132) into $NPM_TOOLS"
        npm install --silent --no-audit --no-fund --prefix "$NPM_TOOLS" binaryen@132 >/dev/null
    fi
}

# Whether the active rustc is at least MAJOR.MINOR (e.g. 1.96).
rustc_at_least() {
    local have; have="$(rustc --version | awk '{print $2}')"
    [ "$(printf '%s\n%s\n' "$1" "$have" | sort -V | head -n1)" = "$1" ]
}

ensure_node() {
    command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
}
