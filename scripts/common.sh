# Sourced by the scripts in this folder: installing what is missing, and building.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What building for both platforms needs, as Debian/Ubuntu packages (CMake 3.25 or later for
# CMakePresets.json: Debian 12, Ubuntu 24.04).
packages=(cmake ninja-build g++ libboost-dev g++-mingw-w64-x86-64-posix wine64)
# What the tests need besides: pkgconf for the pkg-config test, Python's venv for Conan, and the
# other compilers: Clang 14 and 16 natively, Clang 16 with lld for Windows, and GCC's 32-bit
# (multilib) libraries for the linux32 run. libFuzzer (libclang-rt-16-dev) for scripts/fuzz.
# MinGW-w64 for 32-bit Windows (i686) for the windows32 run (scripts/test fetches Wine's i386 DLLs).
test_packages=(pkgconf python3 python3-venv clang-14 clang-16 lld-16 g++-multilib
  libclang-rt-16-dev g++-mingw-w64-i686-posix)

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

# build PRESET: configures and builds with CMakePresets.json's preset (warnings are errors), into
# build/PRESET.
build() {
  (cd "$root" && cmake --preset "$1" >/dev/null && cmake --build --preset "$1")
}

wine_run="$root/cmake/wine-run"
