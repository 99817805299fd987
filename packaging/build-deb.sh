#!/bin/sh
# Builds the Debian package from a copy of the source tree, because the tree keeps its
# debian/ directory under packaging/ and dpkg-buildpackage wants it at the top.
#   packaging/build-deb.sh [OUTDIR]     (default OUTDIR: ./dist)
# Needs dpkg-dev, debhelper and the Build-Depends of packaging/debian/control.
set -eu
source_dir=$(cd "$(dirname "$0")/.." && pwd)
out_dir=${1:-$source_dir/dist}
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/poolwatch-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree="$work/poolwatch"
mkdir "$tree"

# Everything but VCS data, build directories and earlier package output.
(cd "$source_dir" && tar -cf - --exclude=./.git --exclude='./build*' --exclude=./dist \
    --exclude=./packaging/debian .) | (cd "$tree" && tar -xf -)
cp -R "$source_dir/packaging/debian" "$tree/debian"

# debhelper builds with one job unless told otherwise.
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}"
(cd "$tree" && dpkg-buildpackage -us -uc -b)
cp "$work"/*.deb "$out_dir"/
for changes in "$work"/*.changes; do
    [ -e "$changes" ] && cp "$changes" "$out_dir"/
done
ls "$out_dir"/*.deb
