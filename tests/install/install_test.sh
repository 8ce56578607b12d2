#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR
#
# Installs BUILD_DIR into a temporary prefix, then, using only that prefix:
#  1. checks that <prefix>/bin/trellis loads the installed plugins from
#     <prefix>/lib/trellis/plugins without being told where they are;
#  2. follows docs/writing-a-plugin.md as a newcomer: its my_plugin.cpp and
#     four-line CMakeLists.txt (taken from the page itself, so the page and
#     this test cannot drift apart), built out of tree, run with
#     --plugin-dir, then copied into the plugin directory;
#  3. builds examples/hello out of tree with its own CMakeLists.txt;
#  4. builds examples/c-plugin with `cc $(pkg-config --cflags --libs trellis-sdk)`;
#  5. checks that find_package(Trellis 1.0), a different major, fails.
# KEEP=1 keeps the temporary directory for a look afterwards.
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
guide=$source_dir/docs/writing-a-plugin.md

work=$(mktemp -d "${TMPDIR:-/tmp}/trellis-install-test.XXXXXX")
if [[ ${KEEP:-0} == 1 ]]; then
  echo "keeping $work"
else
  trap 'rm -rf "$work"' EXIT
fi
prefix=$work/prefix
trellis=$prefix/bin/trellis
plugin_dir=$prefix/lib/trellis/plugins

# Only the prefix may provide Trellis: no plugin path or config from outside.
unset TRELLIS_PLUGIN_PATH TRELLIS_CONFIG
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# expect_output WANT CMD...: runs CMD, fails unless its stdout is exactly WANT.
expect_output() {
  local want=$1 got
  shift
  echo "\$ $*"
  got=$("$@") || fail "exit code $? from: $*"
  printf '%s\n' "$got"
  [[ $got == "$want" ]] || fail "expected '$want' from: $*"
}
# expect_all_loaded N CMD...: CMD is a `plugins list --json`; N plugins, all loaded.
expect_all_loaded() {
  local want=$1 json listed loaded
  shift
  json=$("$@") || fail "exit code $? from: $*"
  listed=$(grep -o '"state":"[a-z]*"' <<<"$json" | wc -l)
  loaded=$(grep -o '"state":"loaded"' <<<"$json" | wc -l)
  if ((listed != want || loaded != want)); then
    "${@:1:$#-1}" >&2 || true  # the same command without --json, for a person
    fail "expected $want plugins, all loaded; got $listed, of which $loaded loaded: $*"
  fi
}
# configure_and_build SOURCE BUILD LOG_NAME: cmake against the prefix only.
configure_and_build() {
  local src=$1 bin=$2 log=$work/$3
  cmake -S "$src" -B "$bin" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" >"$log.configure" 2>&1 ||
    { cat "$log.configure" >&2; fail "configuring $src against the install failed"; }
  local found
  found=$(sed -n 's/^Trellis_DIR:PATH=//p' "$bin/CMakeCache.txt")
  [[ $found == "$prefix"/* ]] || fail "find_package(Trellis) used $found, not the install in $prefix"
  cmake --build "$bin" -j 2 >"$log.build" 2>&1 ||
    { cat "$log.build" >&2; fail "building $src against the install failed"; }
  if grep -q 'warning:' "$log.build"; then
    cat "$log.build" >&2
    fail "building $src against the install printed warnings"
  fi
}
# code_block FILE LANG MARKER: the first ```LANG block of FILE containing MARKER.
code_block() {
  awk -v lang="$2" -v marker="$3" '
    $0 == "```" lang { inside = 1; block = ""; next }
    inside && $0 == "```" { if (index(block, marker)) { printf "%s", block; found = 1; exit } inside = 0; next }
    inside { block = block $0 "\n" }
    END { exit found ? 0 : 1 }' "$1"
}

step "cmake --install $build_dir --prefix $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" ||
  { cat "$work/install.log" >&2; fail "cmake --install failed"; }
# Everything lands under the prefix: no absolute DESTINATION escapes it.
if outside=$(grep -E '^-- (Installing|Up-to-date): ' "$work/install.log" | grep -vF -- ": $prefix/"); then
  fail "installed outside the prefix: $outside"
fi
for f in bin/trellis include/trellis/abi.h include/trellis/sdk.hpp \
         share/pkgconfig/trellis-sdk.pc; do
  [[ -e $prefix/$f ]] || fail "the install lacks $f"
done
# lib/ or lib/<multiarch>/, depending on the prefix the build was configured with.
for f in TrellisConfig.cmake TrellisConfigVersion.cmake TrellisTargets.cmake TrellisPlugin.cmake; do
  [[ -n $(find "$prefix" -path "*/cmake/Trellis/$f") ]] || fail "the install lacks cmake/Trellis/$f"
done
# The installed host is the one that was built.
expect_output "$("$build_dir/bin/trellis" --version)" "$trellis" --version

# -- 1. the installed plugins, found without --plugin-dir ------------------------
step "installed plugins in $plugin_dir, found without --plugin-dir"
[[ -d $plugin_dir ]] || fail "the install has no $plugin_dir"
mapfile -t installed < <(cd "$plugin_dir" && ls -1 -- *.so 2>/dev/null || true)
((${#installed[@]} > 0)) || fail "no plugin was installed into $plugin_dir"
"$trellis" plugins list
json=$("$trellis" plugins list --json) || fail "trellis plugins list --json failed"
for so in "${installed[@]}"; do
  grep -qF "\"file\":\"$plugin_dir/$so\",\"state\":\"loaded\"" <<<"$json" ||
    fail "$plugin_dir/$so is not reported as loaded"
done
expect_all_loaded "${#installed[@]}" "$trellis" plugins list --json
echo "all ${#installed[@]} installed plugins loaded"

# -- 2. docs/writing-a-plugin.md, step by step --------------------------------------
step "the newcomer's plugin, as docs/writing-a-plugin.md builds it"
newcomer=$work/my_plugin
mkdir -p "$newcomer"
code_block "$guide" cpp "// my_plugin.cpp" >"$newcomer/my_plugin.cpp" ||
  fail "$guide has no \`\`\`cpp block starting '// my_plugin.cpp'"
code_block "$guide" cmake "find_package(Trellis" >"$newcomer/CMakeLists.txt" ||
  fail "$guide has no \`\`\`cmake block with find_package(Trellis ...)"
cat "$newcomer/CMakeLists.txt"
(($(wc -l <"$newcomer/CMakeLists.txt") <= 5)) ||
  fail "the guide's CMakeLists.txt is longer than the five lines the issue allows"
configure_and_build "$newcomer" "$newcomer/build" newcomer
[[ -f $newcomer/build/my_plugin.so ]] || fail "the build did not produce my_plugin.so"
cd "$newcomer"
expect_all_loaded $((${#installed[@]} + 1)) "$trellis" --plugin-dir build plugins list --json
expect_output "Hello, Ada!" "$trellis" --plugin-dir build greet --name Ada
# "5. Install it": copied into the plugin directory, found without --plugin-dir.
cp build/my_plugin.so "$plugin_dir/"
expect_output "Hello, Ada!" "$trellis" greet --name Ada
rm "$plugin_dir/my_plugin.so"
cd "$work"

# -- 3. examples/hello against the install ------------------------------------------
step "examples/hello built out of tree with its own CMakeLists.txt"
configure_and_build "$source_dir/examples/hello" "$work/hello-build" hello
expect_output "Hello, newcomer!" \
  "$trellis" --no-default-plugins --plugin-dir "$work/hello-build" hello --name newcomer

# -- 4. the C plugin, built with pkg-config ------------------------------------------
step "examples/c-plugin built with pkg-config"
c_dir=$work/c-plugin
mkdir -p "$c_dir"
flags=$(PKG_CONFIG_PATH="$prefix/share/pkgconfig" pkg-config --cflags --libs trellis-sdk) ||
  fail "pkg-config does not know trellis-sdk"
echo "pkg-config --cflags --libs trellis-sdk: $flags"
# shellcheck disable=SC2086 # the flags are words
cc -std=c11 -fPIC $flags -Wl,-z,defs -o "$c_dir/c_greeter.so" \
  "$source_dir/examples/c-plugin/c_greeter.c" ||
  fail "compiling examples/c-plugin/c_greeter.c with the pkg-config flags failed"
expect_output "Hello from C, pkg-config!" \
  "$trellis" --no-default-plugins --plugin-dir "$c_dir" c-greet pkg-config

# -- 5. a different major version is refused --------------------------------------
step "find_package(Trellis 1.0) must fail (SameMajorVersion)"
major=$work/wrong-major
mkdir -p "$major"
cat >"$major/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(wrong_major LANGUAGES NONE)
find_package(Trellis 1.0 REQUIRED)
CMAKE
if cmake -S "$major" -B "$major/build" "${generator[@]}" -DCMAKE_PREFIX_PATH="$prefix" \
     >"$work/major.log" 2>&1; then
  cat "$work/major.log" >&2
  fail "find_package(Trellis 1.0) accepted the installed version"
fi
grep -q 'compatible with requested version "1.0"' "$work/major.log" ||
  { cat "$work/major.log" >&2; fail "find_package(Trellis 1.0) failed for another reason"; }
grep -F "$prefix" "$work/major.log" | sed 's/^ */  /'

printf '\nPASS: install; installed plugins; the guide'"'"'s plugin; examples/hello; pkg-config C plugin; major check\n'
