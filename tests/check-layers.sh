#!/bin/sh
# check-layers.sh [TOPDIR]: fails when a file in a lower layer of common/
# includes a header of a higher layer. Layers, lowest first:
#   base dns checks verdict engine service
# A file may include headers of its own layer and of the layers below.
# Prints one line per violation, then "N passed, N failed" (one case per
# source file).
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
layers="base dns checks verdict engine service"
rank() {
	i=0
	for l in $layers; do
		[ "$l" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
	echo -1
}
# header name -> layer, from where the header lives
map=$(mktemp)
trap 'rm -f "$map"' EXIT
for l in $layers; do
	for h in "$top/common/$l"/*.h; do
		[ -e "$h" ] && echo "$(basename "$h") $l"
	done
done > "$map"
pass=0 fail=0
for l in $layers; do
	r=$(rank "$l")
	for f in "$top/common/$l"/*.[ch]; do
		[ -e "$f" ] || continue
		bad=0
		for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
			[ "$inc" = config.h ] && continue
			il=$(awk -v h="$inc" '$1 == h { print $2 }' "$map")
			if [ -z "$il" ]; then
				echo "FAIL common/$l/$(basename "$f"): includes \"$inc\", which is in no layer"
				bad=1
			elif [ "$(rank "$il")" -gt "$r" ]; then
				echo "FAIL common/$l/$(basename "$f") ($l) includes $inc ($il, a higher layer)"
				bad=1
			fi
		done
		if [ $bad -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	done
done
# no source files left at the top of common/
for f in "$top"/common/*.[ch]; do
	[ -e "$f" ] || continue
	echo "FAIL $f: not in a layer folder"
	fail=$((fail + 1))
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
