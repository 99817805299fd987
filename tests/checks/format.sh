#!/bin/sh
# Every C++ file follows .clang-format (checked with the clang-format of Debian 12, 14.x,
# whose output other versions do not always reproduce).
set -eu
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
cd "$source_dir"
command -v clang-format >/dev/null || { echo "skip: clang-format is not installed"; exit 77; }
case $(clang-format --version) in
*" version 14."*) ;;
*) echo "skip: $(clang-format --version) is not the 14.x the tree is formatted with"; exit 77 ;;
esac
files=$(find src include tests bench -name '*.cpp' -o -name '*.hpp' | sort)
if clang-format --dry-run -Werror $files; then
    echo "ok: $(echo "$files" | wc -l) files are clang-formatted"
else
    echo "FAIL: run clang-format -i on the files above"
    exit 1
fi
