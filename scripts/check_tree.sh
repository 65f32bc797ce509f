#!/usr/bin/env bash
# Checks what a tool can check of how the tree is written (CI runs it):
#  - every C++ file is as clang-format (Debian's, the repo's .clang-format) would write it;
#  - includes only point down the folder table of DESIGN.md
#    (app > web > dispatcher > store > policy > channels > templates > model > codec > config).
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
unformatted=$(git ls-files '*.cpp' '*.hpp' '*.h' | xargs clang-format --dry-run 2>&1 | grep -oE '^[^:]+\.(cpp|hpp|h)' | sort -u || true)
if [ -n "$unformatted" ]; then
  echo "check_tree: not formatted (run clang-format -i on them):"
  echo "$unformatted" | sed 's/^/  /'
  status=1
fi

order=(app web dispatcher store policy channels templates model codec config)
rank() {
  local i
  for i in "${!order[@]}"; do [ "${order[$i]}" = "$1" ] && { echo $((${#order[@]} - i)); return; }; done
  echo 0
}
upward=""
for folder in "${order[@]}"; do
  own=$(rank "$folder")
  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    target=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<< "$hit")
    if [ "$(rank "$target")" -gt "$own" ]; then upward="$upward
  ${hit%%:*}: includes $target/"; fi
  done < <(git grep -nE '#include "[a-z_]+/' -- "$folder/*.cpp" "$folder/*.hpp" "$folder/*.h" || true)
done
if [ -n "$upward" ]; then
  echo "check_tree: includes that point up the folder table:$upward"
  status=1
fi
[ $status -eq 0 ] && echo "check_tree: formatted, and every include points down"
exit $status
