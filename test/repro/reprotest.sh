#!/bin/sh
# Debian's reprotest on one isobuild image: two cold builds of REPO's TARGET, the second under
# every variation reprotest has but four, and a byte comparison of the two ISOs.
#
#   test/repro/reprotest.sh [REPO] [TARGET]      (make reprotest; docs/reproducibility.md)
#
# Left out: `time` (faketime's clock makes apt refuse the mirror's Release files as expired),
# `kernel` (its `uname -r` 2.6 stops libc6's preinst), `user_group` (needs accounts made for it)
# and `domain_host` (needs a user namespace around the build); none is isobuild's to fix.
# Needs reprotest and disorderfs (make deps), root (the build runs mmdebstrap) and /dev/fuse.
# REPROTEST_STORE keeps both ISOs (default bin/reprotest); REPROTEST_ARGS adds reprotest options.
set -eu

repo=${1:-debian-12}
target=${2:-bootstrap}
here=$(cd "$(dirname "$0")/../.." && pwd)
store=${REPROTEST_STORE:-$here/bin/reprotest}

for tool in reprotest disorderfs; do
  command -v "$tool" >/dev/null || { echo "reprotest.sh: $tool is not installed (make deps)" >&2; exit 127; }
done
[ -e "$here/dist/cli/main.js" ] || { echo "reprotest.sh: no dist/cli/main.js: run npm run build" >&2; exit 2; }
[ ! -e "$store" ] || [ -z "$(ls -A "$store")" ] || { echo "reprotest.sh: $store is not empty" >&2; exit 2; }

# The tree reprotest copies for each build: what the CLI reads, without the checkout's cache or
# outputs. node_modules is a link (the builds only read it). Both builds are cold: with
# ISOBUILD_CACHE unset, each one's stage and package cache is .isobuild/ inside its own copy.
src=$(mktemp -d /tmp/isobuild-reprotest-src.XXXXXX)
trap 'rm -rf "$src"' EXIT
cp -a "$here/dist" "$here/repos" "$here/templates" "$here/schemas" "$here/package.json" "$src/"
ln -s "$here/node_modules" "$src/node_modules"
unset ISOBUILD_CACHE ISOBUILD_CACHE_REGISTRY || true

# Without diffoscope, reprotest compares with diff(1): the verdict is the same.
diff=
command -v diffoscope >/dev/null || diff=--no-diffoscope

# Not exec: the trap removes the source tree once reprotest is done.
# shellcheck disable=SC2086 # REPROTEST_ARGS is a list of options
reprotest \
  --variations=+all,-time,-kernel,-user_group,-domain_host \
  --store-dir="$store" \
  $diff \
  ${REPROTEST_ARGS:-} \
  --source-root="$src" \
  "node dist/cli/main.js build $repo --target $target --output out/$target-$repo.iso" \
  "out/$target-$repo.iso"
