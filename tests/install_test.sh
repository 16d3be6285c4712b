#!/usr/bin/env bash
# install_test.sh — cmake --install into a temporary prefix; check the files; build docs/example.c
# against the installed kernest with pkg-config and with find_package(kernest); run both; check
# the man page renders without warnings. Exit 77 (CTest: skipped) when a tool is missing.
# usage: install_test.sh BUILD_DIR C_COMPILER CMAKE [SANITIZE]
set -euo pipefail
build=$1 cc=$2 cmake=$3 sanitize=${4:-OFF}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
skip() { echo "SKIP: $*"; exit 77; }
case $sanitize in ON|1|TRUE|true|YES|yes) skip "sanitizer build: programs linking the installed library would need -fsanitize too" ;; esac
command -v "$cc" >/dev/null || skip "no C compiler '$cc'"

tmp=$(mktemp -d /tmp/kernest-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }

fail() { echo "FAIL: $*"; exit 1; }
libdir=$(dirname "$(find "$prefix" -name 'libkernest.so' | head -1)")
[ -n "$libdir" ] && [ -d "$libdir" ] || fail "libkernest.so not installed"
for f in "$prefix/bin/kernest" "$prefix/include/kernest.h" "$libdir/pkgconfig/kernest.pc" \
         "$libdir/cmake/kernest/kernestConfig.cmake" "$libdir/cmake/kernest/kernestConfigVersion.cmake" \
         "$libdir/cmake/kernest/kernestTargets.cmake" "$prefix/share/man/man1/kernest.1"; do
    [ -e "$f" ] || fail "$f not installed"
done
soname=$(objdump -p "$libdir/libkernest.so" 2>/dev/null | awk '/SONAME/ {print $2}')
[ "$soname" = "libkernest.so.0" ] || fail "soname is '$soname', expected libkernest.so.0"
[ -e "$libdir/$soname" ] || fail "$libdir/$soname missing"
"$prefix/bin/kernest" --version | grep -q '^kernest ' || fail "installed kernest does not run"
if "$prefix/bin/kernest" info | grep -q '^mpi: compiled in'; then
    [ -e "$prefix/include/kernest_mpi.h" ] || fail "a build with MPI installs no include/kernest_mpi.h"
fi

export KERNEST_FFTW_PLANNER=estimate
ran=0
# 1. pkg-config
if command -v pkg-config >/dev/null; then
    flags=$(PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config --cflags --libs kernest) ||
        fail "pkg-config --cflags --libs kernest failed"
    "$cc" -o "$tmp/ex_pc" "$src/docs/example.c" $flags -Wl,-rpath,"$libdir" -lm ||
        fail "compiling against pkg-config flags ($flags)"
    (cd "$tmp" && ./ex_pc K.npy) || fail "the pkg-config build did not run"
    [ -s "$tmp/K.npy" ] || fail "the pkg-config build wrote no K.npy"
    ran=$((ran + 1))
else
    echo "pkg-config not found: that half is skipped"
fi
# 2. find_package(kernest)
mkdir -p "$tmp/consumer"
cp "$src/docs/example.c" "$tmp/consumer/"
cat >"$tmp/consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(kernest 0.1 REQUIRED)
add_executable(ex example.c)
target_link_libraries(ex PRIVATE kernest::kernest m)
CM
"$cmake" -S "$tmp/consumer" -B "$tmp/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_RPATH="$libdir" >"$tmp/consumer.log" 2>&1 ||
    { cat "$tmp/consumer.log"; fail "configuring a find_package(kernest) project"; }
"$cmake" --build "$tmp/consumer/build" >>"$tmp/consumer.log" 2>&1 ||
    { cat "$tmp/consumer.log"; fail "building a find_package(kernest) project"; }
(cd "$tmp" && ./consumer/build/ex) || fail "the find_package build did not run"
ran=$((ran + 1))
# 3. the man page renders without warnings
if command -v man >/dev/null; then
    warn=$(MANWIDTH=80 man --warnings -l "$prefix/share/man/man1/kernest.1" 2>&1 >/dev/null)
    [ -z "$warn" ] || fail "man page warnings: $warn"
else
    echo "man not found: the man page check is skipped"
fi
echo "install test passed ($ran builds against the installed kernest)"
