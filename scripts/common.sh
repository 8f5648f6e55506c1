# Sourced by the scripts in this folder: installing what is missing, and building.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building and testing on both platforms needs, as Debian/Ubuntu packages.
packages=(cmake ninja-build g++ libboost-dev g++-mingw-w64-x86-64-posix wine64)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the packages that are not installed yet (and only those).
need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# build DIR [cmake arguments...]: configures (once) and builds with warnings as errors.
build() {
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DVMEM_WARNINGS_AS_ERRORS=ON "$@" >/dev/null
  cmake --build "$dir"
}

mingw_toolchain="$root/cmake/mingw-w64-x86_64.cmake"
wine_run="$root/cmake/wine-run"
